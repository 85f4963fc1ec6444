package auths

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// LoginState is one login in progress. It lives in the shared database so
// that a callback can land on any replica, and is single use: the first
// callback claims it by moving Status from pending to exchanging.
type LoginState struct {
	State       string `gorm:"primaryKey;size:64"`
	LoginType   string `gorm:"size:191;not null"`
	BindingHash string `gorm:"size:64;not null"`                 // sha256 of the browser's binding cookie
	RedirectURL string `gorm:"size:2048;not null"`               // maxRedirectLen
	Status      string `gorm:"size:16;not null;default:pending"` // pending, exchanging, failed; a session row with this state means done
	CodeHash    string `gorm:"size:64;not null;default:''"`      // sha256 of the code that claimed it
	ErrCode     string `gorm:"size:64;not null;default:''"`      // set when failed
	ErrStatus   int    `gorm:"not null;default:0"`
	ErrMessage  string `gorm:"size:512;not null;default:''"`
	CreatedAt   time.Time
	ExpiresAt   time.Time `gorm:"index"`
	UsedAt      *time.Time
}

// TableName pins the table name.
func (LoginState) TableName() string { return "jit_login_states" }

// Session is a logged-in browser. Only a hash of the cookie value is kept,
// so a copy of the database does not hand out live sessions.
type Session struct {
	IDHash    string `gorm:"primaryKey;size:64"`
	LoginType string `gorm:"size:191;not null"`
	AppID     string `gorm:"size:32;not null;index:idx_session_user,priority:1"`
	OpenID    string `gorm:"size:64;not null;index:idx_session_user,priority:2"`
	// LoginState is the state of the login that made the session; its
	// presence marks that login done for duplicate callbacks.
	LoginState string `gorm:"size:64;not null;default:'';index"`
	CreatedAt  time.Time
	ExpiresAt  time.Time `gorm:"index"`
}

// TableName pins the table name.
func (Session) TableName() string { return "jit_sessions" }

// Tables are the models the login flow needs migrated.
func Tables() []any { return []any{&LoginState{}, &Session{}} }

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
