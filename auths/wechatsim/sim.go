// Package wechatsim simulates WeChat Official Account web authorization
// (网页授权): the authorize page on open.weixin.qq.com and the sns API on
// api.weixin.qq.com. It also plays the Open Platform website app's QR login
// page (/connect/qrconnect, scope snsapi_login), listing its users where the
// real page shows a QR code. It serves as the httptest fake in tests and as
// the dev-mode simulator mounted in the real server.
//
// Avatars: a User whose HeadImgURL starts with "/" is treated as a path
// relative to the simulator's base path; /sns/userinfo turns it into an
// absolute URL built from the request's scheme and Host, so default users'
// avatars resolve to the simulator's own /avatar/{n}.svg route offline.
package wechatsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default credentials used when no WithApp option is given, so a dev server
// can mount the simulator without configuration.
const (
	DefaultAppID  = "wx0000000000sim001"
	DefaultSecret = "wechatsim-dev-secret-0000000000"
)

// Lifetimes as documented by WeChat.
const (
	CodeTTL         = 5 * time.Minute
	AccessTokenTTL  = 7200 * time.Second
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// Endpoint names used by Fault.Endpoint and Calls.
const (
	EndpointAuthorize    = "authorize"
	EndpointQRConnect    = "qrconnect" // the website app's QR login page
	EndpointAccessToken  = "access_token"
	EndpointRefreshToken = "refresh_token"
	EndpointAuth         = "auth"
	EndpointUserInfo     = "userinfo"
)

// User is a simulated WeChat user. Snapshot marks a snapshot-page virtual
// user (is_snapshotuser=1 in the token response).
//
// OpenID identifies the user in the simulator (the authorize page and
// IssueCode take it) and is the user's openid in every app not listed in
// OpenIDs. As in real WeChat, a user can have a different openid in each
// app and the same UnionID in all of them.
type User struct {
	OpenID string
	// OpenIDs is the user's openid in other apps, by appId; an app not
	// listed gets OpenID.
	OpenIDs    map[string]string
	UnionID    string
	Nickname   string
	HeadImgURL string
	Province   string
	City       string
	Country    string
	Sex        int
	Snapshot   bool
}

// OpenIDIn returns the openid the app appID sees for u: OpenIDs[appID] when
// set, else OpenID.
func (u User) OpenIDIn(appID string) string {
	if id := u.OpenIDs[appID]; id != "" {
		return id
	}
	return u.OpenID
}

// App is an app known to the simulator: an Official Account or an Open
// Platform website app (the simulator treats them alike).
type App struct {
	AppID  string
	Secret string
}

// Fault makes the next Times requests (default 1) to Endpoint misbehave.
// Faults for one endpoint are consumed in the order they were injected.
// Delay is applied first (and aborted when the client goes away); then the
// first of Drop, HTTPStatus, Garbage, ErrCode, Body that is set decides the
// response. A fault with only Delay set delays a normal response.
type Fault struct {
	Endpoint   string
	Times      int
	ErrCode    int
	HTTPStatus int
	Drop       bool
	Garbage    bool
	Delay      time.Duration
	Body       string
}

// Option configures a Server.
type Option func(*Server)

// WithApp registers an app; repeatable.
func WithApp(appID, secret string) Option {
	return func(s *Server) { s.apps[appID] = secret }
}

// WithUsers replaces the default users.
func WithUsers(users ...User) Option {
	return func(s *Server) {
		s.users = nil
		s.customUsers = true
		for _, u := range users {
			s.addUserLocked(u)
		}
	}
}

// WithClock sets the clock used for code and token expiry.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithBasePath mounts the routes under prefix, e.g. "/_wechat".
func WithBasePath(prefix string) Option {
	return func(s *Server) { s.base = strings.TrimRight(prefix, "/") }
}

// WithMountPath says the simulator's server is itself mounted under prefix
// (e.g. "/app" behind http.StripPrefix): URLs the simulator hands to
// browsers (its form, avatars) start with it; routing does not see it.
func WithMountPath(prefix string) Option {
	return func(s *Server) { s.mount = strings.TrimRight(prefix, "/") }
}

// WithLogger sets the logger; requests are logged at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.log = l }
}

// codeGrant remembers the user by canonical User.OpenID.
type codeGrant struct {
	appID, userID, scope string
	issued               time.Time
	used                 bool
}

// Token grants keep both the canonical user id (userID, to find the User)
// and the openid the app was given (openID, checked against requests).
type tokenGrant struct {
	appID, userID, openID, scope string
	expires                      time.Time
}

type refreshGrant struct {
	appID, userID, openID, scope string
	authorized                   time.Time // refresh tokens die 30 days after this
}

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	mu          sync.Mutex
	apps        map[string]string
	users       []User
	customUsers bool
	codes       map[string]*codeGrant
	tokens      map[string]*tokenGrant
	refresh     map[string]*refreshGrant
	faults      map[string][]*Fault
	calls       map[string]int
	lastSweep   time.Time

	now   func() time.Time
	base  string
	mount string // before base in URLs for browsers; see WithMountPath
	log   *slog.Logger
	mux   *http.ServeMux
}

// New builds a simulator. Without WithApp it knows DefaultAppID/DefaultSecret;
// without WithUsers it has three users, one with an emoji nickname and one
// with a unionid.
func New(opts ...Option) *Server {
	s := &Server{
		apps:    map[string]string{},
		codes:   map[string]*codeGrant{},
		tokens:  map[string]*tokenGrant{},
		refresh: map[string]*refreshGrant{},
		faults:  map[string][]*Fault{},
		calls:   map[string]int{},
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.apps) == 0 {
		s.apps[DefaultAppID] = DefaultSecret
	}
	if !s.customUsers {
		for _, u := range defaultUsers() {
			s.addUserLocked(u)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /connect/oauth2/authorize", s.counted(EndpointAuthorize, s.showPage(authorizePage)))
	mux.HandleFunc("POST /connect/oauth2/authorize", s.counted(EndpointAuthorize, s.submitPage(authorizePage)))
	mux.HandleFunc("GET /connect/qrconnect", s.counted(EndpointQRConnect, s.showPage(qrConnectPage)))
	mux.HandleFunc("POST /connect/qrconnect", s.counted(EndpointQRConnect, s.submitPage(qrConnectPage)))
	mux.HandleFunc("GET /sns/oauth2/access_token", s.counted(EndpointAccessToken, s.handleAccessToken))
	mux.HandleFunc("GET /sns/oauth2/refresh_token", s.counted(EndpointRefreshToken, s.handleRefreshToken))
	mux.HandleFunc("GET /sns/auth", s.counted(EndpointAuth, s.handleAuth))
	mux.HandleFunc("GET /sns/userinfo", s.counted(EndpointUserInfo, s.handleUserInfo))
	mux.HandleFunc("GET /avatar/{file}", s.handleAvatar)
	s.mux = mux
	return s
}

func defaultUsers() []User {
	return []User{
		{OpenID: "oSim0000000000000000000000001", Nickname: "小明😀", HeadImgURL: "/avatar/1.svg"},
		{OpenID: "oSim0000000000000000000000002", UnionID: "uSim000000000000000000000002", Nickname: "李雷", HeadImgURL: "/avatar/2.svg"},
		{OpenID: "oSim0000000000000000000000003", Nickname: "Han Meimei", HeadImgURL: "/avatar/3.svg"},
	}
}

// ServeHTTP routes requests relative to the base path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.base != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, s.base)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

// AddUser adds u, replacing a user with the same OpenID. An empty OpenID is
// derived from the nickname, as for users typed on the authorize page.
// u.OpenIDs is copied, so the caller may reuse the map.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) User {
	if u.OpenID == "" {
		u.OpenID = OpenIDForNickname(u.Nickname)
	}
	u.OpenIDs = maps.Clone(u.OpenIDs)
	for i := range s.users {
		if s.users[i].OpenID == u.OpenID {
			s.users[i] = u
			return u
		}
	}
	s.users = append(s.users, u)
	return u
}

// Users returns a copy of the users in insertion order.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := append([]User(nil), s.users...)
	for i := range users {
		users[i].OpenIDs = maps.Clone(users[i].OpenIDs)
	}
	return users
}

// userLocked finds a user by canonical OpenID.
func (s *Server) userLocked(openID string) (User, bool) {
	for _, u := range s.users {
		if u.OpenID == openID {
			return u, true
		}
	}
	return User{}, false
}

// OpenIDForNickname derives the stable openid of a user created by typing a
// nickname, so the same nickname logs in as the same user across restarts.
func OpenIDForNickname(nickname string) string {
	sum := sha256.Sum256([]byte("wechatsim:" + nickname))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// avatarNumber picks a stable avatar for a typed nickname.
func avatarNumber(nickname string) int {
	sum := sha256.Sum256([]byte(nickname))
	return 4 + int(binary.BigEndian.Uint16(sum[:2])%60)
}

// IssueCode does what consent on the authorize page does and returns the
// code. openID is the user's canonical User.OpenID; the token endpoint
// answers with the user's openid in appID (User.OpenIDIn). It does not
// validate its arguments, so tests can craft odd grants; the token endpoint
// still checks the code's appid, and a code for an unknown user yields
// openID as given.
func (s *Server) IssueCode(appID, openID, scope string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now)
	code := randomToken(24)
	s.codes[code] = &codeGrant{appID: appID, userID: openID, scope: scope, issued: now}
	return code
}

// sweepLocked forgets dead grants so a long-running dev server does not grow.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for k, c := range s.codes {
		if now.Sub(c.issued) > 2*CodeTTL {
			delete(s.codes, k)
		}
	}
	for k, t := range s.tokens {
		if now.After(t.expires.Add(time.Hour)) {
			delete(s.tokens, k)
		}
	}
	for k, r := range s.refresh {
		if now.Sub(r.authorized) > RefreshTokenTTL+24*time.Hour {
			delete(s.refresh, k)
		}
	}
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Endpoint] = append(s.faults[f.Endpoint], &f)
}

// Calls counts requests to endpoint, including failed and faulted ones.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// Reset forgets codes, tokens, faults and call counts; apps and users stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = map[string]*codeGrant{}
	s.tokens = map[string]*tokenGrant{}
	s.refresh = map[string]*refreshGrant{}
	s.faults = map[string][]*Fault{}
	s.calls = map[string]int{}
}

func (s *Server) counted(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[endpoint]++
		var f *Fault
		if q := s.faults[endpoint]; len(q) > 0 {
			cp := *q[0]
			f = &cp
			q[0].Times--
			if q[0].Times <= 0 {
				s.faults[endpoint] = q[1:]
			}
		}
		s.mu.Unlock()
		s.log.DebugContext(r.Context(), "wechatsim request", "endpoint", endpoint, "fault", f != nil)
		if f != nil && s.applyFault(w, r, f) {
			return
		}
		h(w, r)
	}
}

// applyFault reports whether it wrote the response.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		// Not hijackable (e.g. HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	case f.HTTPStatus != 0:
		body := f.Body
		if body == "" {
			body = http.StatusText(f.HTTPStatus)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.HTTPStatus)
		_, _ = io.WriteString(w, body)
	case f.Garbage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	case f.ErrCode != 0:
		s.writeErr(w, f.ErrCode, errMsg(f.ErrCode))
	case f.Body != "":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, f.Body)
	default:
		return false
	}
	return true
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// rid mimics WeChat's request id: hex unix time plus two random words.
func (s *Server) rid() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%08x-%08x-%08x", uint32(s.now().Unix()), binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}

// AddApp registers (or re-keys) an app while the simulator runs, so a dev
// server can follow login elements added or edited by hot reload.
func (s *Server) AddApp(appID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[appID] = secret
}
