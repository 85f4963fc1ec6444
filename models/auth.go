package models

import "time"

// LoginState is one login in progress. It lives in the shared database so
// that a callback can land on any replica, and is single use: the first
// callback claims it by moving Status from pending to exchanging.
type LoginState struct {
	State       string `gorm:"primaryKey;size:64"`
	LoginType   string `gorm:"size:191;not null"`
	BindingHash string `gorm:"size:64;not null;index"`           // sha256 of the browser's binding cookie
	RedirectURL string `gorm:"size:2048;not null"`               // the login's return URL, checked when stored
	Status      string `gorm:"size:16;not null;default:pending"` // pending, exchanging, failed, done; a session row with this state also means done
	// BindUserID is the user a bind=1 login attaches the identity to; empty
	// for an ordinary login. It is stored here, never read from the callback.
	BindUserID string `gorm:"size:32;not null;default:''"`
	// QRTicket is the desktop QR ticket a phone's login completes; empty
	// for an ordinary login. Stored here, never carried in later URLs.
	QRTicket   string `gorm:"size:32;not null;default:''"`
	CodeHash   string `gorm:"size:64;not null;default:''"` // sha256 of the code that claimed it
	ErrCode    string `gorm:"size:64;not null;default:''"` // set when failed
	ErrStatus  int    `gorm:"not null;default:0"`
	ErrMessage string `gorm:"size:512;not null;default:''"`
	CreatedAt  time.Time
	ExpiresAt  time.Time `gorm:"index"`
	UsedAt     *time.Time
}

// TableName pins the table name.
func (LoginState) TableName() string { return "jit_login_states" }

// Session is a logged-in browser. Only a hash of the cookie value is kept,
// so a copy of the database does not hand out live sessions.
type Session struct {
	IDHash string `gorm:"primaryKey;size:64"`
	// ID is the session's public name (GET /auths/sessions); it grants nothing.
	ID        string `gorm:"size:32;not null;default:'';index"`
	UserID    string `gorm:"size:32;not null;default:'';index"`
	LoginType string `gorm:"size:191;not null"`
	AppID     string `gorm:"size:64;not null"` // the identity the session logged in with
	OpenID    string `gorm:"size:64;not null"`
	UserAgent string `gorm:"size:64;not null;default:''"` // a short summary, e.g. "微信 · iOS"
	// LoginState is the state of the login that made the session; its
	// presence marks that login done for duplicate callbacks.
	LoginState string `gorm:"size:64;not null;default:'';index"`
	// DupSeal is the cookie value sealed with the login's browser binding, so
	// a duplicate callback from that browser joins this session.
	DupSeal    string `gorm:"size:64;not null;default:''"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time `gorm:"index"`
}

// TableName pins the table name.
func (Session) TableName() string { return "jit_sessions" }

// User is an app user. Logins attach identities to it.
type User struct {
	ID        string `gorm:"primaryKey;size:32"` // random, URL-safe
	Nickname  string `gorm:"size:191;not null;default:''"`
	AvatarURL string `gorm:"size:1024;not null;default:''"`
	Disabled  bool   `gorm:"not null;default:false"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name.
func (User) TableName() string { return "jit_users" }

// Identity is one account of a login provider attached to a user: an openid
// in one WeChat app. An appId names one app across all of WeChat, so
// (app, openid) is one person whichever login element of that app was used.
type Identity struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    string `gorm:"size:32;not null;index"`
	LoginType string `gorm:"size:191;not null"` // the login element that attached it
	AppID     string `gorm:"size:64;not null;uniqueIndex:uniq_identity,priority:1"`
	OpenID    string `gorm:"size:64;not null;uniqueIndex:uniq_identity,priority:2"`
	UnionID   string `gorm:"size:64;not null;default:'';index"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name.
func (Identity) TableName() string { return "jit_identities" }

// QRTicket is a desktop's cross-device login: the desktop shows a QR of a
// link with the ticket, a phone logs in through it and confirms, and the
// desktop, polling, gets the session. Single use; only the desktop browser
// that made it (its binding cookie) may poll it.
type QRTicket struct {
	Ticket             string `gorm:"primaryKey;size:32"`
	LoginType          string `gorm:"size:191;not null"`
	DesktopBindingHash string `gorm:"size:64;not null;index"`
	DesktopUA          string `gorm:"size:64;not null;default:''"` // summary shown on the phone
	// Status: waiting, scanned (the phone opened the link), ready (the
	// phone logged in; awaiting its confirmation), confirmed, denied,
	// spent (the desktop got its session).
	Status           string `gorm:"size:16;not null;default:waiting"`
	PhoneBindingHash string `gorm:"size:64;not null;default:''"`
	UserID           string `gorm:"size:32;not null;default:''"`
	// The identity the phone logged in with, for the desktop's session.
	IdentityType string `gorm:"size:191;not null;default:''"`
	AppID        string `gorm:"size:64;not null;default:''"`
	OpenID       string `gorm:"size:64;not null;default:''"`
	CreatedAt    time.Time
	ExpiresAt    time.Time `gorm:"index"`
}

// TableName pins the table name.
func (QRTicket) TableName() string { return "jit_qr_tickets" }
