// Package models holds the gorm models and opens the database.
package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	return []any{&WechatPublicAuthModel{}, &User{}, &Identity{}, &LoginState{}, &Session{}}
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

	updates := clause.AssignmentColumns(tokenColumns)
	if m.UserID != "" {
		updates = append(updates, clause.Assignment{Column: clause.Column{Name: "user_id"}, Value: m.UserID})
	}
	if cfg.preserveProfile {
		if m.UnionID != "" {
			updates = append(updates, clause.Assignment{Column: clause.Column{Name: "union_id"}, Value: m.UnionID})
		}
	} else {
		updates = append(updates, clause.AssignmentColumns(profileColumns)...)
	}
	// RETURNING gives the stored row's id and created_at in the same
	// statement, inserted or updated, on SQLite and PostgreSQL alike.
	err := db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app_id"}, {Name: "open_id"}},
		DoUpdates: updates,
	}, clause.Returning{Columns: []clause.Column{{Name: "id"}, {Name: "created_at"}}}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("models: upsert wechat user: %w", err)
	}
	m.ID, m.CreatedAt, m.UpdatedAt = row.ID, row.CreatedAt, now
	return nil
}

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
