package auths

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/jitwx/jit/models"
	"github.com/jitwx/jit/services"
)

// Cookie names. The binding cookie ties a login's state to the browser
// that started it; the session cookie is the login itself. Over https they
// carry the __Host- prefix (see cookieName).
const (
	BindingCookie = "jit_bind"
	SessionCookie = "jit_session"
)

// SecurePrefix is put before the cookie names over https: browsers then
// accept the cookie only from this exact host, Secure, with Path=/, so a
// sibling subdomain cannot plant a binding cookie of its choosing.
const SecurePrefix = "__Host-"

func cookieName(base *url.URL, name string) string {
	if base.Scheme == "https" {
		return SecurePrefix + name
	}
	return name
}

// Lookup finds a live element by full name. The server asks for elements
// on every request, so hot-reloaded config applies at once.
type Lookup func(fullName string) (any, bool)

// Server is the HTTP side of login: the login and callback routes of every
// login element, the session and logout.
type Server struct {
	db         *gorm.DB
	lookup     Lookup
	publicURL  *url.URL
	logger     *slog.Logger
	now        func() time.Time
	stateTTL   time.Duration
	sessionTTL time.Duration
	dupWindow  time.Duration
	exchangeTO time.Duration
	observe    func(element, outcome string, errcode int)
	echo       *echo.Echo   // only to read a request's scheme the way echo does
	lastSweep  atomic.Int64 // unix nanoseconds of the last sweep
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithPublicURL fixes the scheme and host WeChat redirects back to; without
// it each request's own scheme and host are used.
func WithPublicURL(u *url.URL) ServerOption { return func(s *Server) { s.publicURL = u } }

// WithServerLogger sets the logger.
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// WithClock replaces time.Now, for expiry tests.
func WithClock(now func() time.Time) ServerOption { return func(s *Server) { s.now = now } }

// WithSessionTTL sets how long a login lasts (default 7 days).
func WithSessionTTL(d time.Duration) ServerOption { return func(s *Server) { s.sessionTTL = d } }

// NewServer returns the login HTTP server over the App's database.
func NewServer(db *gorm.DB, lookup Lookup, opts ...ServerOption) *Server {
	s := &Server{
		db: db, lookup: lookup, logger: slog.Default(), now: time.Now,
		stateTTL:   10 * time.Minute, // WeChat's code lives 5 minutes; the consent page may take a while
		sessionTTL: 7 * 24 * time.Hour,
		dupWindow:  2 * time.Minute,
		exchangeTO: 30 * time.Second,
		echo:       echo.New(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register adds the routes to e.
func (s *Server) Register(e *echo.Echo) {
	e.GET("/auths/loginTypes/:name/login", s.needDB(s.login))
	e.GET("/auths/loginTypes/:name/callback", s.needDB(s.observed(s.callback)))
	e.GET("/auths/session", s.needDB(s.session))
	e.POST("/auths/logout", s.needDB(s.logout))
}

// Outcome keys under which a callback leaves its result on the echo
// context, for the request log.
const (
	OutcomeKey = "jit.outcome"
	ErrCodeKey = "jit.errcode"
	ElementKey = "jit.element"
)

// WithLoginObserver is told the outcome of every callback: "ok" or the
// error code, and WeChat's errcode when WeChat refused (else 0).
func WithLoginObserver(f func(element, outcome string, errcode int)) ServerOption {
	return func(s *Server) { s.observe = f }
}

// observed records a callback's outcome for metrics and the request log.
// Names that are not login elements are counted as "unknown", so request
// paths cannot grow the metric's label set.
func (s *Server) observed(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		element := "unknown"
		if name := "auths.loginTypes." + c.Param("name"); s.isLogin(name) {
			element = name
		}
		outcome, errcode := "ok", 0
		var fe *Error
		switch {
		case errors.As(err, &fe):
			outcome, errcode = fe.Code, fe.ErrCode
		case err != nil:
			outcome = "internal"
		}
		c.Set(ElementKey, element)
		c.Set(OutcomeKey, outcome)
		if errcode != 0 {
			c.Set(ErrCodeKey, errcode)
		}
		if s.observe != nil {
			s.observe(element, outcome, errcode)
		}
		return err
	}
}

func (s *Server) isLogin(name string) bool {
	el, ok := s.lookup(name)
	_, isWechat := el.(*WechatLogin)
	return ok && isWechat
}

// needDB answers 503 when the app was opened without a database
// (jit.WithoutDatabase): logins then fail cleanly instead of panicking.
func (s *Server) needDB(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.db == nil {
			return fail(http.StatusServiceUnavailable, "database_unavailable", "this server has no database; logins are turned off")
		}
		return h(c)
	}
}

// Error is the JSON body of every error response.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ErrCode int    `json:"errcode,omitempty"` // WeChat's errcode, when WeChat refused
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (s *Server) element(c echo.Context) (*WechatLogin, *Error) {
	name := c.Param("name")
	el, ok := s.lookup("auths.loginTypes." + name)
	w, isWechat := el.(*WechatLogin)
	if !ok || !isWechat {
		return nil, fail(http.StatusNotFound, "login_type_not_found", "no WeChat login element auths.loginTypes.%s", name)
	}
	return w, nil
}

func (s *Server) login(c echo.Context) error {
	w, ferr := s.element(c)
	if ferr != nil {
		return ferr
	}
	base := s.baseURL(c)
	target, err := safeRedirect(c.QueryParam("redirectUrl"), base, c.Request().Host, w.AllowedRedirectHosts())
	if err != nil {
		return fail(http.StatusBadRequest, "invalid_redirect", "redirectUrl %v", err)
	}
	binding := ""
	if ck, err := c.Cookie(cookieName(base, BindingCookie)); err == nil && validToken(ck.Value, 64) {
		binding = ck.Value
	} else {
		binding = newToken()
		c.SetCookie(s.cookie(base, BindingCookie, binding, 0))
	}
	state := newToken()
	now := s.now()
	row := LoginState{
		State: state, LoginType: w.FullName(), BindingHash: hashHex(binding), RedirectURL: target,
		Status: "pending", CreatedAt: now, ExpiresAt: now.Add(s.stateTTL),
	}
	ctx := c.Request().Context()
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("saving login state: %w", err)
	}
	s.sweep(ctx, now)

	callback := base.JoinPath("auths", "loginTypes", c.Param("name"), "callback").String()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, w.AuthorizeURL(callback, state))
}

// sweep deletes long-expired login states and expired sessions as logins
// happen, at most once a minute per server, so that a login does not pay
// for a DELETE each time.
func (s *Server) sweep(ctx context.Context, now time.Time) {
	last := s.lastSweep.Load()
	if now.UnixNano()-last < int64(time.Minute) || !s.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	// An hour's grace: a logged-out session row is what refuses a late
	// duplicate callback of its login, and states outlive their sessions'
	// duplicate window.
	old := now.Add(-time.Hour)
	s.db.WithContext(ctx).Where("expires_at < ?", old).Delete(&LoginState{})
	s.db.WithContext(ctx).Where("expires_at < ?", old).Delete(&Session{})
}

func (s *Server) callback(c echo.Context) error {
	w, ferr := s.element(c)
	if ferr != nil {
		return ferr
	}
	ctx := c.Request().Context()
	c.Response().Header().Set("Cache-Control", "no-store")
	st, binding, code, ferr := callbackParams(c, s.baseURL(c))
	if ferr != nil {
		s.logger.InfoContext(ctx, "login refused", "element", w.FullName(), "outcome", ferr.Code)
		return ferr
	}

	// The happy path is one statement: claim the state only if it is
	// pending, issued to this browser for this element, and not expired.
	// Anything else takes the slow path below, which says what is wrong.
	codeHash := hashHex(code)
	now := s.now()
	var claimed []LoginState
	if code == "" { // a denial: the slow path checks the state and records it
		ferr := s.whyUnclaimed(c, w, st, binding, code)
		s.logger.InfoContext(ctx, "login refused", "element", w.FullName(), "outcome", ferr.Code)
		return ferr
	}
	res := s.db.WithContext(ctx).Model(&claimed).
		Clauses(clause.Returning{Columns: []clause.Column{{Name: "redirect_url"}}}).
		Where("state = ? AND status = ? AND login_type = ? AND binding_hash = ? AND expires_at > ?",
			st, "pending", w.FullName(), hashHex(binding), now).
		Updates(map[string]any{"status": "exchanging", "code_hash": codeHash, "used_at": now})
	if res.Error != nil {
		return fmt.Errorf("claiming login state: %w", res.Error)
	}
	if res.RowsAffected == 0 || len(claimed) == 0 {
		ferr := s.whyUnclaimed(c, w, st, binding, code)
		if ferr != nil {
			s.logger.InfoContext(ctx, "login refused", "element", w.FullName(), "outcome", ferr.Code)
			return ferr
		}
		return s.duplicate(c, w, st, codeHash)
	}

	// The code is spent once sent to WeChat: finish even if this browser
	// goes away, so a duplicate callback can pick up the result.
	xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.exchangeTO)
	defer cancel()
	openid, ferr := s.exchange(xctx, w, code)
	if ferr != nil {
		s.db.WithContext(xctx).Model(&LoginState{}).Where("state = ?", st).Updates(map[string]any{
			"status": "failed", "err_code": ferr.Code, "err_status": ferr.Status, "err_message": ferr.Message})
		s.logger.WarnContext(ctx, "login failed", "element", w.FullName(), "outcome", ferr.Code, "errcode", ferr.ErrCode)
		return ferr
	}
	s.logger.InfoContext(ctx, "login", "element", w.FullName(), "outcome", "ok")
	// The session row, tagged with the state, is also what marks the login
	// done for a duplicate callback.
	return s.startSession(xctx, c, w, openid, st, claimed[0].RedirectURL)
}

// callbackParams checks what can be checked without the database.
func callbackParams(c echo.Context, base *url.URL) (state, binding, code string, _ *Error) {
	raw := c.QueryParam("state")
	code = c.QueryParam("code")
	if raw == "" {
		return "", "", "", fail(http.StatusBadRequest, "state_missing", "the callback has no state; start the login again")
	}
	// The per-login token is the last tokenLen characters; the configured
	// marker before it may have been edited (hot reload) since the login
	// started, and the token alone is what the database knows.
	if len(raw) < tokenLen || len(raw) > 128 || !validToken(raw, 128) {
		return "", "", "", fail(http.StatusBadRequest, "state_invalid", "the callback's state is not one this server issued")
	}
	st := raw[len(raw)-tokenLen:]
	ck, err := c.Cookie(cookieName(base, BindingCookie))
	if err != nil || !validToken(ck.Value, 64) {
		return "", "", "", fail(http.StatusForbidden, "state_browser_mismatch", "this login was started in another browser; start it again here")
	}
	if len(code) > 512 {
		return "", "", "", fail(http.StatusBadRequest, "code_invalid", "the callback's code is not valid")
	}
	return st, ck.Value, code, nil
}

// whyUnclaimed explains a state the happy path could not claim. It returns
// nil when the state was claimed before by this browser: a duplicate. It
// never returns nil for an empty code.
func (s *Server) whyUnclaimed(c echo.Context, w *WechatLogin, st, binding, code string) *Error {
	ctx := c.Request().Context()
	var row LoginState
	err := s.db.WithContext(ctx).Where("state = ?", st).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fail(http.StatusBadRequest, "state_invalid", "the callback's state is not one this server issued")
	case err != nil:
		return fail(http.StatusServiceUnavailable, "database_unavailable", "the login could not be checked; try again")
	case row.LoginType != w.FullName():
		return fail(http.StatusBadRequest, "state_invalid", "the callback's state belongs to another login element")
	case row.BindingHash != hashHex(binding):
		return fail(http.StatusForbidden, "state_browser_mismatch", "this login was started in another browser; start it again here")
	case row.Status == "pending" && !s.now().Before(row.ExpiresAt):
		return fail(http.StatusBadRequest, "state_expired", "the login took too long; start it again")
	case code == "":
		// WeChat's documented answer to "deny": state without code.
		s.db.WithContext(ctx).Model(&LoginState{}).Where("state = ? AND status = ?", st, "pending").
			Updates(map[string]any{"status": "failed", "err_code": "authorization_denied",
				"err_status": http.StatusForbidden, "err_message": "WeChat authorization was declined"})
		return fail(http.StatusForbidden, "authorization_denied", "WeChat authorization was declined")
	}
	return nil
}

// duplicate answers a second callback with an already claimed state: the
// same code from the same browser (Android's double redirect, a refresh,
// the back button) gets the first exchange's outcome; anything else is a
// replay.
func (s *Server) duplicate(c echo.Context, w *WechatLogin, state, codeHash string) error {
	ctx := c.Request().Context()
	deadline := time.NewTimer(s.exchangeTO)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	used := fail(http.StatusConflict, "state_used", "this login link was already used; start the login again")
	for {
		var row LoginState
		if err := s.db.WithContext(ctx).Where("state = ?", state).Take(&row).Error; err != nil {
			return fmt.Errorf("reading login state: %w", err)
		}
		if row.CodeHash != codeHash || row.UsedAt == nil || s.now().Sub(*row.UsedAt) > s.dupWindow {
			return used
		}
		if row.Status == "failed" {
			return &Error{Status: row.ErrStatus, Code: row.ErrCode, Message: row.ErrMessage}
		}
		var done []Session
		// The earliest-ending session of this login: ended means logged out.
		if err := s.db.WithContext(ctx).Where("login_state = ?", state).Order("expires_at").Limit(1).Find(&done).Error; err != nil {
			return fmt.Errorf("reading session: %w", err)
		}
		if len(done) == 1 {
			if !s.now().Before(done[0].ExpiresAt) {
				return used // the user logged out since: do not log them back in
			}
			s.logger.InfoContext(ctx, "duplicate callback served from the first exchange", "element", w.FullName())
			return s.startSession(ctx, c, w, done[0].OpenID, state, row.RedirectURL)
		}
		if s.now().Sub(*row.UsedAt) > s.exchangeTO {
			return used // the first exchange died without an outcome
		}
		select {
		case <-ctx.Done():
			return fail(http.StatusServiceUnavailable, "login_in_progress", "the login is still being completed; reload the page")
		case <-deadline.C:
			return fail(http.StatusGatewayTimeout, "login_in_progress", "the login is still being completed; reload the page")
		case <-tick.C:
		}
	}
}

// exchange sends the code to WeChat and stores the user.
func (s *Server) exchange(ctx context.Context, w *WechatLogin, code string) (string, *Error) {
	tok, err := w.Service().GetAccessToken(ctx, code)
	if err != nil {
		return "", wechatFailure(err)
	}
	user, err := w.Service().Login(ctx, tok)
	if err != nil {
		return "", wechatFailure(err)
	}
	return user.OpenID, nil
}

// wechatFailure maps a WeChat or network failure to what the browser sees:
// 4xx for what the user can fix by starting again, 502/504 for WeChat.
func wechatFailure(err error) *Error {
	var we *services.WechatError
	var ue *services.UpstreamError
	switch {
	case errors.Is(err, services.ErrSnapshotUser):
		return fail(http.StatusForbidden, "snapshot_user", "请点击页面底部的「使用完整服务」后再登录 (this is a preview page; tap \"使用完整服务\" to sign in)")
	case services.IsCodeUsed(err):
		return &Error{Status: http.StatusBadRequest, Code: "code_used", Message: "this login link was already used; start the login again", ErrCode: 40163}
	case services.IsCodeInvalid(err):
		return &Error{Status: http.StatusBadRequest, Code: "code_invalid", Message: "the WeChat code is invalid or expired; start the login again", ErrCode: we0(err)}
	case errors.As(err, &we) && (we.Code == 50001 || we.Code == 50002):
		return &Error{Status: http.StatusForbidden, Code: "authorization_denied", Message: "WeChat did not grant access for this user", ErrCode: we.Code}
	case errors.As(err, &we):
		return &Error{Status: http.StatusBadGateway, Code: "wechat_error", Message: fmt.Sprintf("WeChat refused the request (errcode %d)", we.Code), ErrCode: we.Code}
	case errors.As(err, &ue) && ue.Timeout():
		return fail(http.StatusGatewayTimeout, "wechat_timeout", "WeChat did not answer in time; try again")
	case errors.As(err, &ue):
		return fail(http.StatusBadGateway, "wechat_unavailable", "WeChat could not be reached; try again")
	case errors.Is(err, context.DeadlineExceeded):
		return fail(http.StatusGatewayTimeout, "wechat_timeout", "WeChat did not answer in time; try again")
	}
	return fail(http.StatusServiceUnavailable, "login_failed", "the login could not be completed; try again")
}

func we0(err error) int {
	var we *services.WechatError
	if errors.As(err, &we) {
		return we.Code
	}
	return 0
}

func (s *Server) startSession(ctx context.Context, c echo.Context, w *WechatLogin, openid, state, redirect string) error {
	token := newToken()
	now := s.now()
	sess := Session{IDHash: hashHex(token), LoginType: w.FullName(), AppID: w.AppID(), OpenID: openid, LoginState: state,
		CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL)}
	if err := s.db.WithContext(ctx).Create(&sess).Error; err != nil {
		return fmt.Errorf("saving session: %w", err)
	}
	c.SetCookie(s.cookie(s.baseURL(c), SessionCookie, token, s.sessionTTL))
	return c.Redirect(http.StatusFound, redirect)
}

// SessionUser is the JSON of GET /auths/session.
type SessionUser struct {
	OpenID     string `json:"openid"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	UnionID    string `json:"unionid"`
	LoginType  string `json:"loginType"`
}

// CurrentUser returns the logged-in user of a request, or an *Error with
// status 401.
func (s *Server) CurrentUser(r *http.Request) (*SessionUser, error) {
	ck, err := r.Cookie(cookieName(s.baseURLOf(r), SessionCookie))
	if err != nil || !validToken(ck.Value, 64) {
		return nil, fail(http.StatusUnauthorized, "unauthenticated", "not logged in")
	}
	ctx := r.Context()
	var sess Session
	err = s.db.WithContext(ctx).Where("id_hash = ? AND expires_at > ?", hashHex(ck.Value), s.now()).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fail(http.StatusUnauthorized, "unauthenticated", "not logged in")
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	user, err := models.FindWechatUser(ctx, s.db, sess.AppID, sess.OpenID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fail(http.StatusUnauthorized, "unauthenticated", "not logged in")
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return &SessionUser{OpenID: user.OpenID, Nickname: user.Nickname, HeadImgURL: user.HeadImgURL, UnionID: user.UnionID, LoginType: sess.LoginType}, nil
}

func (s *Server) session(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	u, err := s.CurrentUser(c.Request())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(cookieName(s.baseURL(c), SessionCookie)); err == nil && validToken(ck.Value, 64) {
		// Expire rather than delete: the row still tells a late duplicate
		// callback of the same login that it must not log the user back in.
		if err := s.db.WithContext(c.Request().Context()).Model(&Session{}).Where("id_hash = ?", hashHex(ck.Value)).
			Update("expires_at", s.now()).Error; err != nil {
			return fmt.Errorf("ending session: %w", err)
		}
	}
	c.SetCookie(s.cookie(s.baseURL(c), SessionCookie, "", -1))
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) baseURL(c echo.Context) *url.URL { return s.baseURLOf(c.Request()) }

// baseURLOf is the public URL, or the request's own scheme (as echo reads
// it, including X-Forwarded-Proto from a proxy) and host.
func (s *Server) baseURLOf(r *http.Request) *url.URL {
	if s.publicURL != nil {
		return s.publicURL
	}
	return &url.URL{Scheme: s.echo.NewContext(r, nil).Scheme(), Host: r.Host}
}

// cookie makes a cookie that scripts cannot read and that a cross-site
// POST does not carry; maxAge 0 lasts for the browser session, <0 deletes.
func (s *Server) cookie(base *url.URL, name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: cookieName(base, name), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: base.Scheme == "https"}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
	}
	return ck
}

// safeRedirect accepts a path on this site, or an absolute URL on this
// site's host or an allowed host; anything else would be an open redirect.
func safeRedirect(raw string, base *url.URL, reqHost string, allowed []string) (string, error) {
	if raw == "" {
		return "/", nil
	}
	if !utf8.ValidString(raw) {
		return "", errors.New("is not valid UTF-8")
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "", errors.New("contains characters not allowed in a URL")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("is not a URL")
	}
	target, err := sameSite(raw, u, base, reqHost, allowed)
	if err != nil {
		return "", err
	}
	// The limit applies to what is stored, which for an absolute URL is
	// its re-encoded form (up to three times longer than the input).
	if len(target) > maxRedirectLen {
		return "", errors.New("is too long")
	}
	return target, nil
}

// maxRedirectLen is the longest return URL a login keeps (the column size).
const maxRedirectLen = 2048

func sameSite(raw string, u *url.URL, base *url.URL, reqHost string, allowed []string) (string, error) {
	if u.Scheme == "" && u.Host == "" && u.User == nil {
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return "", errors.New("must be a path starting with / or a URL on this site")
		}
		return raw, nil
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" {
		return "", errors.New("must be a path starting with / or a URL on this site")
	}
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(base.Host) || host == strings.ToLower(reqHost) {
		return u.String(), nil
	}
	for _, h := range allowed {
		if host == strings.ToLower(h) {
			return u.String(), nil
		}
	}
	return "", fmt.Errorf("must stay on this site; %s is not an allowed host", u.Hostname())
}

// tokenLen is the length of newToken's result.
const tokenLen = 26

// newToken returns 128 random bits as 26 letters and digits
// (crypto/rand.Text): WeChat's state allows nothing else.
func newToken() string { return rand.Text() }

func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
