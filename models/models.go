// Package models holds the gorm models and opens the database.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("models: record not found")

// WechatPublicAuthModel is one WeChat Official Account user of one app, with
// the user access token obtained at the last login.
type WechatPublicAuthModel struct {
	ID        uint   `gorm:"primaryKey"`
	AppID     string `gorm:"size:32;not null;uniqueIndex:uniq_wechat_app_openid,priority:1"`
	OpenID    string `gorm:"size:64;not null;uniqueIndex:uniq_wechat_app_openid,priority:2"`
	LoginType string `gorm:"size:191;not null;default:''"` // full name of the login element
	UnionID   string `gorm:"size:64;not null;default:'';index"`
	UserID    string `gorm:"size:32;not null;default:'';index"` // the jit_users row this account belongs to

	Nickname   string `gorm:"not null;default:''"`
	HeadImgURL string `gorm:"size:1024;not null;default:''"`
	Province   string `gorm:"size:64;not null;default:''"`
	City       string `gorm:"size:64;not null;default:''"`
	Country    string `gorm:"size:64;not null;default:''"`
	Sex        int    `gorm:"not null;default:0"`

	AccessToken      string `gorm:"size:512;not null;default:''"`
	RefreshToken     string `gorm:"size:512;not null;default:''"`
	ExpiresIn        int    `gorm:"not null;default:0"`
	TokenExpiresAt   time.Time
	RefreshExpiresAt time.Time
	Scope            string `gorm:"size:64;not null;default:''"`

	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name regardless of naming strategy.
func (WechatPublicAuthModel) TableName() string { return "wechat_public_auth" }

// Tables are every model of the package, in migration order.
func Tables() []any {
	return []any{&WechatPublicAuthModel{}, &User{}, &Identity{}, &LoginState{}, &Session{}, &QRTicket{}, &ServerKey{}}
}

// Migrate creates or updates the tables, and gives WeChat accounts stored
// before users existed a user each.
func Migrate(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).AutoMigrate(Tables()...); err != nil {
		return fmt.Errorf("models: migrate: %w", err)
	}
	return backfillUsers(ctx, db)
}

var (
	tokenColumns   = []string{"login_type", "access_token", "refresh_token", "expires_in", "token_expires_at", "refresh_expires_at", "scope", "updated_at"}
	profileColumns = []string{"union_id", "nickname", "head_img_url", "province", "city", "country", "sex"}
)

type upsertConfig struct{ preserveProfile bool }

// UpsertOption tunes UpsertWechatUser.
type UpsertOption func(*upsertConfig)

// PreserveProfile keeps the stored profile of an existing row and updates only
// the login type, tokens and scope (plus unionid when m has one). Use it for
// snsapi_base logins, which carry no profile and must not wipe one.
func PreserveProfile() UpsertOption {
	return func(c *upsertConfig) { c.preserveProfile = true }
}

// UpsertWechatUser inserts m or, when (app_id, open_id) exists, updates it in
// the same statement, so concurrent logins of one user neither duplicate nor
// fail. Afterwards m.ID and m.CreatedAt are those of the stored row.
func UpsertWechatUser(ctx context.Context, db *gorm.DB, m *WechatPublicAuthModel, opts ...UpsertOption) error {
	if m == nil || m.AppID == "" || m.OpenID == "" {
		return errors.New("models: upsert wechat user: app_id and open_id are required")
	}
	var cfg upsertConfig
	for _, o := range opts {
		o(&cfg)
	}
	now := db.NowFunc()
	row := *m
	row.ID = 0 // the conflict target is (app_id, open_id), never the caller's id
	row.CreatedAt, row.UpdatedAt = now, now

	// The statement gorm's Create with OnConflict and Returning clauses
	// built, without them: on a login's path they cost more than the
	// statement itself. RETURNING gives the stored row's id and created_at
	// in the same statement, inserted or updated, on SQLite and PostgreSQL
	// alike.
	args := []any{row.AppID, row.OpenID, row.LoginType, row.UnionID, row.UserID, row.Nickname, row.HeadImgURL,
		row.Province, row.City, row.Country, row.Sex, row.AccessToken, row.RefreshToken, row.ExpiresIn,
		row.TokenExpiresAt, row.RefreshExpiresAt, row.Scope, row.CreatedAt, row.UpdatedAt}
	variant := 0
	if m.UserID != "" {
		variant |= upsertUserID
		args = append(args, m.UserID)
	}
	if cfg.preserveProfile {
		variant |= upsertPreserve
		if m.UnionID != "" {
			variant |= upsertUnionID
			args = append(args, m.UnionID)
		}
	}
	_, err := upsertSQL[variant].Query(ctx, db, func(rows *sql.Rows) error {
		var created sql.NullTime
		if err := rows.Scan(&row.ID, &created); err != nil {
			return err
		}
		row.CreatedAt = created.Time
		return nil
	}, args...)
	if err != nil {
		return fmt.Errorf("models: upsert wechat user: %w", err)
	}
	m.ID, m.CreatedAt, m.UpdatedAt = row.ID, row.CreatedAt, now
	return nil
}

// The variants of UpsertWechatUser's statement.
const (
	upsertUserID   = 1 << iota // user_id = ? (the row moves to that user)
	upsertPreserve             // the stored profile stays
	upsertUnionID              // with upsertPreserve: union_id = ?
)

// upsertSQL is UpsertWechatUser's statement by variant.
var upsertSQL = func() (out [8]*Statement) {
	insert := "INSERT INTO wechat_public_auth (app_id, open_id, login_type, union_id, user_id, nickname, head_img_url," +
		" province, city, country, sex, access_token, refresh_token, expires_in, token_expires_at, refresh_expires_at," +
		" scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
		" ON CONFLICT (app_id, open_id) DO UPDATE SET "
	for v := range out {
		var set []string
		for _, c := range tokenColumns {
			set = append(set, c+" = excluded."+c)
		}
		if v&upsertUserID != 0 {
			set = append(set, "user_id = ?")
		}
		switch {
		case v&upsertPreserve == 0:
			for _, c := range profileColumns {
				set = append(set, c+" = excluded."+c)
			}
		case v&upsertUnionID != 0:
			set = append(set, "union_id = ?")
		}
		out[v] = NewStatement(insert + strings.Join(set, ", ") + " RETURNING id, created_at")
	}
	return out
}()

// FindWechatUser returns the row of appID/openID or an error matching ErrNotFound.
func FindWechatUser(ctx context.Context, db *gorm.DB, appID, openID string) (*WechatPublicAuthModel, error) {
	var m WechatPublicAuthModel
	err := db.WithContext(ctx).Where("app_id = ? AND open_id = ?", appID, openID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("models: wechat user %s/%s: %w", appID, openID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("models: find wechat user: %w", err)
	}
	return &m, nil
}

// ClearWechatTokens forgets the stored tokens of appID/openID, keeping the
// profile; the user must authorize again. A missing row gives ErrNotFound.
func ClearWechatTokens(ctx context.Context, db *gorm.DB, appID, openID string) error {
	res := db.WithContext(ctx).Model(&WechatPublicAuthModel{}).
		Where("app_id = ? AND open_id = ?", appID, openID).
		Updates(map[string]any{
			"access_token":       "",
			"refresh_token":      "",
			"expires_in":         0,
			"token_expires_at":   time.Time{},
			"refresh_expires_at": time.Time{},
			"updated_at":         db.NowFunc(),
		})
	if res.Error != nil {
		return fmt.Errorf("models: clear wechat tokens: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: clear wechat tokens %s/%s: %w", appID, openID, ErrNotFound)
	}
	return nil
}

// Statement is one SQL statement, written with ? placeholders for SQLite
// and PostgreSQL alike (none inside literals), that runs on a gorm handle's
// connection (its transaction, its prepared statements) without gorm's
// statement building and reflection, which cost more than a login's short
// statements. Like gorm, it honours the handle's error, logs the statement
// with the handle's logger (without its parameters when the logger filters
// them) and translates errors when the handle does.
type Statement struct {
	sqlite, postgres string
}

// NewStatement returns the Statement of query.
func NewStatement(query string) *Statement {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return &Statement{sqlite: query, postgres: b.String()}
}

func (q *Statement) text(db *gorm.DB) string {
	if db.Dialector.Name() == "postgres" {
		return q.postgres
	}
	return q.sqlite
}

// Exec runs the statement on db and returns how many rows it changed.
func (q *Statement) Exec(ctx context.Context, db *gorm.DB, args ...any) (int64, error) {
	if db.Error != nil {
		return 0, db.Error
	}
	begin, text := time.Now(), q.text(db)
	var n int64
	res, err := db.Statement.ConnPool.ExecContext(ctx, text, args...)
	if err == nil {
		n, _ = res.RowsAffected()
	}
	return n, q.done(ctx, db, begin, text, args, n, err)
}

// Query runs the statement on db, calls scan on each row it returns and
// returns how many it did.
func (q *Statement) Query(ctx context.Context, db *gorm.DB, scan func(*sql.Rows) error, args ...any) (int64, error) {
	if db.Error != nil {
		return 0, db.Error
	}
	begin, text := time.Now(), q.text(db)
	var n int64
	rows, err := db.Statement.ConnPool.QueryContext(ctx, text, args...)
	if err == nil {
		for err == nil && rows.Next() {
			err = scan(rows)
			n++
		}
		if err == nil {
			err = rows.Err()
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}
	return n, q.done(ctx, db, begin, text, args, n, err)
}

// done translates err and logs the statement as gorm's processor does.
func (q *Statement) done(ctx context.Context, db *gorm.DB, begin time.Time, text string, args []any, n int64, err error) error {
	if err != nil && db.TranslateError {
		if t, ok := db.Dialector.(gorm.ErrorTranslator); ok {
			err = t.Translate(err)
		}
	}
	db.Logger.Trace(ctx, begin, func() (string, int64) {
		sql, vars := text, args
		if f, ok := db.Logger.(gorm.ParamsFilter); ok {
			sql, vars = f.ParamsFilter(ctx, text, args...)
		}
		return db.Dialector.Explain(sql, vars...), n
	}, err)
	return err
}
