package auths

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/jitwx/jit/models"
)

// Store holds every query of the login state machine, users, identities and
// sessions, so the HTTP code is HTTP only. It works on any replica: all
// state is in the shared database.
type Store struct {
	db  *gorm.DB
	hub ticketHub
}

// NewStore returns the store over db.
func NewStore(db *gorm.DB) *Store {
	if p, ok := db.Statement.ConnPool.(*gorm.PreparedStmtDB); ok {
		if sqlDB, err := p.GetDBConn(); err == nil {
			// A copy of db (its own statement and config) whose
			// transactions reuse prepared statements; db is unchanged.
			db = db.Session(&gorm.Session{Context: context.Background()})
			pool := &txStmtPool{PreparedStmtDB: p, db: sqlDB, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
			db.Statement.ConnPool, db.Config.ConnPool = pool, pool
		}
	}
	return &Store{db: db}
}

// txStmtPool is the store's connection pool when gorm prepares statements
// (SQLite; pgx caches PostgreSQL's itself). Outside transactions it is
// gorm's; its transactions run their statements through statements
// prepared on the database, which database/sql prepares once per
// connection. gorm's own transactions prepare a statement first seen in a
// transaction on that transaction, and so again in every later one: a
// login's commit paid one sqlite3_prepare per statement.
type txStmtPool struct {
	*gorm.PreparedStmtDB
	db *sql.DB

	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt // nil value: could not be prepared
	pending map[string]bool      // seen in a transaction, prepared before the next one
}

// maxTxStmts bounds the statements kept; the store's transactions use a
// handful.
const maxTxStmts = 64

// BeginTx first prepares the statements earlier transactions ran
// unprepared. It does so holding no connection, so a full pool cannot
// deadlock on it.
func (p *txStmtPool) BeginTx(ctx context.Context, opt *sql.TxOptions) (gorm.ConnPool, error) {
	p.mu.RLock()
	n := len(p.pending)
	p.mu.RUnlock()
	if n > 0 {
		p.preparePending(ctx)
	}
	tx, err := p.db.BeginTx(ctx, opt)
	if err != nil {
		return nil, err
	}
	return &txStmts{Tx: tx, pool: p}, nil
}

func (p *txStmtPool) preparePending(ctx context.Context) {
	p.mu.RLock()
	queries := make([]string, 0, len(p.pending))
	for q := range p.pending {
		queries = append(queries, q)
	}
	p.mu.RUnlock()
	// Not under the lock: preparing waits for a connection, and the
	// transactions holding them take the lock to find their statements.
	for _, q := range queries {
		st, err := p.db.PrepareContext(ctx, q)
		if err != nil && ctx.Err() != nil {
			return // try again with the next transaction
		}
		p.mu.Lock()
		if _, done := p.stmts[q]; done { // prepared meanwhile by another
			p.mu.Unlock()
			if st != nil {
				_ = st.Close()
			}
			continue
		}
		delete(p.pending, q)
		p.stmts[q] = st // nil on error: the query keeps running unprepared
		p.mu.Unlock()
	}
}

// stmt is the prepared statement of query, nil when there is none yet.
// Statements without arguments (gorm's SAVEPOINT sp<random>, …) are not
// worth keeping.
func (p *txStmtPool) stmt(query string, args []any) *sql.Stmt {
	if len(args) == 0 {
		return nil
	}
	p.mu.RLock()
	st, ok := p.stmts[query]
	p.mu.RUnlock()
	if !ok {
		p.mu.Lock()
		if _, ok := p.stmts[query]; !ok && len(p.stmts)+len(p.pending) < maxTxStmts {
			p.pending[query] = true
		}
		p.mu.Unlock()
	}
	return st
}

// txStmts is a transaction of txStmtPool.
type txStmts struct {
	*sql.Tx
	pool *txStmtPool
}

func (t *txStmts) GetDBConn() (*sql.DB, error) { return t.pool.db, nil }

func (t *txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.pool.stmt(query, args); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.pool.stmt(query, args); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.pool.stmt(query, args); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// Errors the store returns for callers to branch on.
var (
	errNoRow = errors.New("auths: no such row")
	// errIdentityInUse: a bind found the identity attached to another user.
	errIdentityInUse = errors.New("auths: identity belongs to another user")
	errLastIdentity  = errors.New("auths: the user's only identity")
)

// CreateState stores a new login state.
func (s *Store) CreateState(ctx context.Context, st *models.LoginState) error {
	// What gorm's Create would fill in.
	if st.Status == "" {
		st.Status = "pending"
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.db.NowFunc()
	}
	if _, err := stateInsertStmt.Exec(ctx, s.db, st.State, st.LoginType, st.BindingHash, st.RedirectURL, st.Status,
		st.BindUserID, st.QRTicket, st.CodeHash, st.ErrCode, st.ErrStatus, st.ErrMessage, st.CreatedAt, st.ExpiresAt, st.UsedAt); err != nil {
		return fmt.Errorf("saving login state: %w", err)
	}
	return nil
}

// ClaimState moves a pending state to exchanging in one statement, only
// when it was issued to this browser for this element and has not expired.
// It returns nil when nothing was claimed.
func (s *Store) ClaimState(ctx context.Context, state, loginType, bindingHash, codeHash string, now time.Time) (*models.LoginState, error) {
	var claimed models.LoginState
	n, err := claimStmt.Query(ctx, s.db, func(rows *sql.Rows) error {
		return rows.Scan(&claimed.RedirectURL, &claimed.BindUserID, &claimed.QRTicket)
	}, codeHash, "exchanging", now, state, "pending", loginType, bindingHash, now)
	if err != nil {
		return nil, fmt.Errorf("claiming login state: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	return &claimed, nil
}

// The store's statements on a login's path, as gorm built them without
// its clauses and reflection (models.Statement), which cost more than the
// statements.
var (
	stateInsertStmt = models.NewStatement("INSERT INTO jit_login_states (state, login_type, binding_hash, redirect_url," +
		" status, bind_user_id, qr_ticket, code_hash, err_code, err_status, err_message, created_at, expires_at, used_at)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	claimStmt = models.NewStatement("UPDATE jit_login_states SET code_hash = ?, status = ?, used_at = ?" +
		" WHERE state = ? AND status = ? AND login_type = ? AND binding_hash = ? AND expires_at > ?" +
		" RETURNING redirect_url, bind_user_id, qr_ticket")
	userSelect = "SELECT u.id, u.nickname, u.avatar_url, u.disabled, u.created_at, u.updated_at" +
		" FROM jit_users AS u JOIN jit_identities AS i ON i.user_id = u.id WHERE "
	userByIdentityStmt = models.NewStatement(userSelect + "i.app_id = ? AND i.open_id = ? ORDER BY i.id LIMIT 1")
	userByUnionStmt    = models.NewStatement(userSelect + "i.union_id = ? ORDER BY i.id LIMIT 1")
	identityInsert     = "INSERT INTO jit_identities (user_id, login_type, app_id, open_id, union_id, created_at, updated_at)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, open_id) DO UPDATE SET login_type = ?, updated_at = ?"
	// An identity that exists is updated only when it is the same user's
	// (else no row comes back).
	identityUpsertStmt      = models.NewStatement(identityInsert + " WHERE jit_identities.user_id = ? RETURNING id")
	identityUpsertUnionStmt = models.NewStatement(identityInsert + ", union_id = ? WHERE jit_identities.user_id = ? RETURNING id")
	userInsertStmt          = models.NewStatement("INSERT INTO jit_users (id, nickname, avatar_url, disabled, created_at, updated_at)" +
		" VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
	userFillStmt = models.NewStatement("UPDATE jit_users SET avatar_url = CASE WHEN avatar_url = '' THEN ? ELSE avatar_url END," +
		" nickname = CASE WHEN nickname = '' THEN ? ELSE nickname END, updated_at = ? WHERE id = ?")
	sessionInsertStmt = models.NewStatement("INSERT INTO jit_sessions (id_hash, id, user_id, login_type, app_id, open_id," +
		" user_agent, login_state, dup_seal, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
)

// State reads a login state; errNoRow when there is none.
func (s *Store) State(ctx context.Context, state string) (*models.LoginState, error) {
	var row models.LoginState
	err := s.db.WithContext(ctx).Where("state = ?", state).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoRow
	}
	if err != nil {
		return nil, fmt.Errorf("reading login state: %w", err)
	}
	return &row, nil
}

// FailState records a login's failure, for its duplicate callbacks. Only a
// state still in fromStatus changes.
func (s *Store) FailState(ctx context.Context, state, fromStatus string, e *Error) error {
	return s.db.WithContext(ctx).Model(&models.LoginState{}).Where("state = ? AND status = ?", state, fromStatus).
		Updates(map[string]any{"status": "failed", "err_code": e.Code, "err_status": e.Status, "err_message": e.Message}).Error
}

// SessionOfState is the earliest-ending session a login made, nil if none.
func (s *Store) SessionOfState(ctx context.Context, state string) (*models.Session, error) {
	var done []models.Session
	if err := s.db.WithContext(ctx).Where("login_state = ?", state).Order("expires_at").Limit(1).Find(&done).Error; err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	if len(done) == 0 {
		return nil, nil
	}
	return &done[0], nil
}

// Resolved is whom an identity belongs to before a login changes anything.
type Resolved struct {
	User *models.User // nil: nobody yet
	// Known: the identity itself is stored (else User, if any, was found
	// through its unionid).
	Known bool
}

// Resolve finds the user of an identity: by (app, openid), else, when
// linkByUnionid, through another identity with the same unionid.
func (s *Store) Resolve(ctx context.Context, id Identity, linkByUnionid bool) (Resolved, error) {
	u, err := s.userBy(ctx, userByIdentityStmt, id.AppID, id.OpenID)
	if err != nil || u != nil {
		return Resolved{User: u, Known: u != nil}, err
	}
	if !linkByUnionid || id.UnionID == "" {
		return Resolved{}, nil
	}
	u, err = s.userBy(ctx, userByUnionStmt, id.UnionID)
	return Resolved{User: u}, err
}

func (s *Store) userBy(ctx context.Context, q *models.Statement, args ...any) (*models.User, error) {
	var (
		u                models.User
		created, updated sql.NullTime
	)
	n, err := q.Query(ctx, s.db, func(rows *sql.Rows) error {
		return rows.Scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.Disabled, &created, &updated)
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	u.CreatedAt, u.UpdatedAt = created.Time, updated.Time
	return &u, nil
}

// User reads a user; errNoRow when there is none.
func (s *Store) User(ctx context.Context, id string) (*models.User, error) {
	var u models.User
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoRow
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return &u, nil
}

// Finish is what a successful exchange commits, in one transaction.
type Finish struct {
	Login *Login
	// User is the resolved user; nil creates one from the profile.
	User *models.User
	// Bind: the identity must end up on User (never moved from another).
	Bind  bool
	State string
	// Session is the new session, nil for a bind (the session stays) and
	// for a phone's QR login (the desktop gets it, once confirmed).
	Session *models.Session
	// QRTicket, for a phone's QR login, is readied for the phone's
	// confirmation (PhoneBindingHash) in the same transaction.
	QRTicket, PhoneBindingHash string
	Now                        time.Time
}

// FinishLogin commits a login: the user (created, or its empty nickname
// and avatar filled), the identity, what the provider keeps, and the
// session or, for a bind, the state marked done. It returns the user's id.
// An identity attached meanwhile by a concurrent login wins: the login
// joins its user, and a bind fails with errIdentityInUse.
func (s *Store) FinishLogin(ctx context.Context, f Finish) (string, error) {
	var userID string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		create := f.User == nil
		if create {
			userID = newToken()
		} else {
			userID = f.User.ID
		}
		id := f.Login.Identity
		upsert, args := identityUpsertStmt, []any{userID, id.LoginType, id.AppID, id.OpenID, id.UnionID, f.Now, f.Now,
			id.LoginType, f.Now, userID}
		if id.UnionID != "" {
			upsert, args = identityUpsertUnionStmt, []any{userID, id.LoginType, id.AppID, id.OpenID, id.UnionID, f.Now, f.Now,
				id.LoginType, f.Now, id.UnionID, userID}
		}
		var identityID uint
		n, err := upsert.Query(ctx, tx, func(rows *sql.Rows) error { return rows.Scan(&identityID) }, args...)
		if err != nil {
			return fmt.Errorf("saving identity: %w", err)
		}
		if n == 0 { // the identity is another user's
			if f.Bind {
				return errIdentityInUse
			}
			var owner models.Identity
			if err := tx.Where("app_id = ? AND open_id = ?", id.AppID, id.OpenID).Take(&owner).Error; err != nil {
				return fmt.Errorf("reading identity: %w", err)
			}
			// Joined: the user row exists, unless the app deleted it and
			// left the identity behind; the create below then restores it.
			userID = owner.UserID
		}
		p := f.Login.Profile
		switch {
		case create:
			if _, err := userInsertStmt.Exec(ctx, tx, userID, p.Nickname, p.AvatarURL, false, f.Now, f.Now); err != nil {
				return fmt.Errorf("creating user: %w", err)
			}
		case f.User != nil && f.User.ID == userID && (f.User.Nickname == "" && p.Nickname != "" || f.User.AvatarURL == "" && p.AvatarURL != ""):
			// Fill what the user lacks; values the app set are kept.
			if _, err := userFillStmt.Exec(ctx, tx, p.AvatarURL, p.Nickname, f.Now, userID); err != nil {
				return fmt.Errorf("updating user: %w", err)
			}
		}
		if f.Login.Save != nil {
			if err := f.Login.Save(ctx, tx, userID); err != nil {
				return err
			}
		}
		if f.Session == nil {
			if f.QRTicket != "" {
				if err := readyTicket(tx, f.QRTicket, f.PhoneBindingHash, userID, id, f.Now); err != nil {
					return err
				}
			}
			return tx.Model(&models.LoginState{}).Where("state = ?", f.State).Update("status", "done").Error
		}
		f.Session.UserID = userID
		ss := f.Session
		if _, err := sessionInsertStmt.Exec(ctx, tx, ss.IDHash, ss.ID, ss.UserID, ss.LoginType, ss.AppID, ss.OpenID,
			ss.UserAgent, ss.LoginState, ss.DupSeal, ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt); err != nil {
			return fmt.Errorf("saving session: %w", err)
		}
		return nil
	})
	return userID, err
}

// SessionByToken reads the live session of a cookie value and its user;
// errNoRow when there is none, it has ended, or the user is disabled.
func (s *Store) SessionByToken(ctx context.Context, token string, now time.Time) (*models.Session, *models.User, error) {
	var sess models.Session
	err := s.db.WithContext(ctx).Where("id_hash = ? AND expires_at > ?", hashHex(token), now).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, errNoRow
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading session: %w", err)
	}
	u, err := s.User(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, errNoRow
	}
	return &sess, u, nil
}

// Identities lists a user's identities, oldest first.
func (s *Store) Identities(ctx context.Context, userID string) ([]models.Identity, error) {
	var ids []models.Identity
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id").Find(&ids).Error; err != nil {
		return nil, fmt.Errorf("reading identities: %w", err)
	}
	return ids, nil
}

// TouchSession records that a session was used.
func (s *Store) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	return s.db.WithContext(ctx).Model(&models.Session{}).Where("id_hash = ?", idHash).Update("last_seen_at", now).Error
}

// EndSession ends the session of a cookie value. It expires the row rather
// than deleting it: the row still tells a late duplicate callback of the
// same login that it must not log the user back in.
func (s *Store) EndSession(ctx context.Context, token string, now time.Time) error {
	return s.endWhere(ctx, now, "id_hash = ?", hashHex(token))
}

// EndUserSession ends one of a user's sessions by its public id; false when
// the user has no such live session.
func (s *Store) EndUserSession(ctx context.Context, userID, id string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.Session{}).
		Where("user_id = ? AND id = ? AND expires_at > ?", userID, id, now).Update("expires_at", now)
	if res.Error != nil {
		return false, fmt.Errorf("ending session: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// EndAllSessions ends every live session of a user, wherever it was made.
func (s *Store) EndAllSessions(ctx context.Context, userID string, now time.Time) error {
	return s.endWhere(ctx, now, "user_id = ? AND expires_at > ?", userID, now)
}

func (s *Store) endWhere(ctx context.Context, now time.Time, where string, args ...any) error {
	if err := s.db.WithContext(ctx).Model(&models.Session{}).Where(where, args...).Update("expires_at", now).Error; err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	return nil
}

// Sessions lists a user's live sessions, newest first.
func (s *Store) Sessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error) {
	var list []models.Session
	err := s.db.WithContext(ctx).Where("user_id = ? AND expires_at > ?", userID, now).
		Order("created_at DESC").Limit(maxListedSessions).Find(&list).Error
	if err != nil {
		return nil, fmt.Errorf("reading sessions: %w", err)
	}
	return list, nil
}

// maxListedSessions bounds GET /auths/sessions.
const maxListedSessions = 100

// Unbind detaches the user's identity in appID, with the provider's own
// rows (forget, when set), unless it is the user's only identity.
func (s *Store) Unbind(ctx context.Context, userID, appID string, forget func(tx *gorm.DB, id Identity) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []models.Identity
		// Locking the user's identities keeps two concurrent unbinds from
		// each leaving the other as the last one (SQLite's write lock
		// serialises them already).
		q := tx.Where("user_id = ?", userID).Order("id")
		if tx.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Find(&ids).Error; err != nil {
			return fmt.Errorf("reading identities: %w", err)
		}
		var target *models.Identity
		for i := range ids {
			if ids[i].AppID == appID {
				target = &ids[i]
			}
		}
		switch {
		case target == nil:
			return errNoRow
		case len(ids) == 1:
			return errLastIdentity
		}
		if err := tx.Delete(&models.Identity{}, target.ID).Error; err != nil {
			return fmt.Errorf("deleting identity: %w", err)
		}
		if forget != nil {
			return forget(tx, Identity{LoginType: target.LoginType, AppID: target.AppID, OpenID: target.OpenID, UnionID: target.UnionID})
		}
		return nil
	})
}

// Sweeping works in batches, so that no request waits on one long delete
// and no write lock is held long; a call stops after maxSweepRows (the
// rest goes next time). After a large sweep SQLite's WAL is checkpointed
// and truncated, or it would keep the flood's size on disk.
const (
	sweepBatch      = 500
	maxSweepRows    = 20000
	checkpointAfter = 5000
)

// Sweep deletes login states, sessions and QR tickets that ended before
// old, and returns how many rows went.
func (s *Store) Sweep(ctx context.Context, old time.Time) (int, error) {
	total := 0
	for _, t := range []struct{ table, key string }{
		{"jit_login_states", "state"}, {"jit_sessions", "id_hash"}, {"jit_qr_tickets", "ticket"},
	} {
		q := "DELETE FROM " + t.table + " WHERE " + t.key + " IN (SELECT " + t.key + " FROM " + t.table +
			" WHERE expires_at < ? LIMIT ?)"
		for total < maxSweepRows {
			res := s.db.WithContext(ctx).Exec(q, old, sweepBatch)
			if res.Error != nil {
				return total, fmt.Errorf("sweeping %s: %w", t.table, res.Error)
			}
			total += int(res.RowsAffected)
			if res.RowsAffected < sweepBatch {
				break
			}
		}
	}
	if total >= checkpointAfter && s.db.Dialector.Name() == "sqlite" {
		if err := s.db.WithContext(ctx).Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
			return total, fmt.Errorf("checkpointing after the sweep: %w", err)
		}
	}
	return total, nil
}

// maxPendingPerBrowser is how many logins one browser may have pending; a
// new one replaces the oldest, so one client cannot pile up rows.
const maxPendingPerBrowser = 5

// trimPending deletes a browser's pending logins beyond the newest few.
func (s *Store) trimPending(ctx context.Context, bindingHash string) error {
	return s.db.WithContext(ctx).Exec(`DELETE FROM jit_login_states WHERE binding_hash = ? AND status = 'pending'
		AND state NOT IN (SELECT state FROM jit_login_states WHERE binding_hash = ? AND status = 'pending'
		ORDER BY created_at DESC LIMIT ?)`, bindingHash, bindingHash, maxPendingPerBrowser).Error
}

// trimTickets does the same for a desktop's waiting QR tickets.
func (s *Store) trimTickets(ctx context.Context, bindingHash string) error {
	return s.db.WithContext(ctx).Exec(`DELETE FROM jit_qr_tickets WHERE desktop_binding_hash = ? AND status = 'waiting'
		AND ticket NOT IN (SELECT ticket FROM jit_qr_tickets WHERE desktop_binding_hash = ? AND status = 'waiting'
		ORDER BY created_at DESC LIMIT ?)`, bindingHash, bindingHash, maxPendingPerBrowser).Error
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
