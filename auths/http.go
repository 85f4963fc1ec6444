package auths

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/jitwx/jit/models"
)

// Cookie names. The binding cookie ties a login's state to the browser
// that started it; the session cookie is the login itself. Over https they
// carry a security prefix (see Server.cookieName).
const (
	BindingCookie = "jit_bind"
	SessionCookie = "jit_session"
)

// Cookie prefixes used over https. __Host- makes browsers accept the
// cookie only from this exact host, Secure, with Path=/, so a sibling
// subdomain cannot plant a binding cookie of its choosing; an app mounted
// under a path cannot use it and gets __Secure- (https only).
const (
	SecurePrefix     = "__Host-"
	SecurePathPrefix = "__Secure-"
)

// Lookup finds a live element by full name. The server asks for elements
// on every request, so hot-reloaded config applies at once.
type Lookup func(fullName string) (any, bool)

// LoginHook runs after the provider answered and the identity is resolved,
// before anything is stored or a session starts. An error refuses the
// login: the person sees its message (write it in Chinese), nothing is
// stored.
type LoginHook func(ctx context.Context, ev *LoginEvent) error

// LoginEvent is what a LoginHook decides on.
type LoginEvent struct {
	Identity Identity
	Profile  Profile
	// User is the existing user the login would log in (or, for a bind,
	// the user the identity is attached to); nil when one would be created.
	User *models.User
	Bind bool
}

// Server is the HTTP side of login: the login and callback routes of every
// login element, sessions, users' identities and logout.
type Server struct {
	store         *Store
	lookup        Lookup
	providers     func() []Provider
	publicURL     *url.URL
	logger        *slog.Logger
	now           func() time.Time
	hook          LoginHook
	stateTTL      time.Duration
	sessionTTL    time.Duration
	dupWindow     time.Duration
	exchangeTO    time.Duration
	observe       func(element, outcome string, errcode int)
	qrObserve     func(element, event string)
	ticketPoll    time.Duration // how often a QR long poll reads the database
	appTitle      func() string
	ip            echo.IPExtractor     // the client's address (WithTrustedProxies)
	scheme        echo.SchemeExtractor // http or https, ditto
	ratePerSecond float64              // per client on the login routes; 0: no limit
	rateBurst     int
	bindingKey    []byte       // signs binding cookies (WithBindingKey)
	lastSweep     atomic.Int64 // unix nanoseconds of the last sweep
	// warnedNoDefault: RequireLogin said once that no element is default.
	warnedNoDefault atomic.Bool

	// broken names the elements that exist but are broken (WithBroken).
	broken func(fullName string) (problem string, broken bool)
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithPublicURL fixes the URL WeChat redirects back to: scheme, host and
// the path the app is mounted under. Without it each request's own scheme
// and host are used, at the root.
func WithPublicURL(u *url.URL) ServerOption { return func(s *Server) { s.publicURL = u } }

// WithServerLogger sets the logger.
func WithServerLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// WithClock replaces time.Now, for expiry tests.
func WithClock(now func() time.Time) ServerOption { return func(s *Server) { s.now = now } }

// WithSessionTTL sets how long a login lasts (default 7 days).
func WithSessionTTL(d time.Duration) ServerOption { return func(s *Server) { s.sessionTTL = d } }

// WithLoginHook sets the hook every login passes.
func WithLoginHook(h LoginHook) ServerOption { return func(s *Server) { s.hook = h } }

// WithProviders lists the live login elements, for RequireLogin's default.
func WithProviders(f func() []Provider) ServerOption { return func(s *Server) { s.providers = f } }

// WithLoginObserver is told the outcome of every callback: "ok" or the
// error code, and the provider's errcode when it refused (else 0).
func WithLoginObserver(f func(element, outcome string, errcode int)) ServerOption {
	return func(s *Server) { s.observe = f }
}

// WithQRObserver is told of every QR ticket event: created, scanned,
// confirmed, denied, login (the desktop got its session).
func WithQRObserver(f func(element, event string)) ServerOption {
	return func(s *Server) { s.qrObserve = f }
}

// WithTicketPoll sets how often a QR long poll reads the database for
// changes no notification announced (default 250ms; with a PostgreSQL
// listener calling Store().WakeTicket, make it longer).
func WithTicketPoll(d time.Duration) ServerOption { return func(s *Server) { s.ticketPoll = d } }

// WithAppTitle names the app on the phone's QR confirmation page.
func WithAppTitle(f func() string) ServerOption { return func(s *Server) { s.appTitle = f } }

// WithBroken tells the server which elements exist but are broken (they
// have errors and nothing live), with the first problem of each: their
// login routes answer 503 element_broken instead of 404, and the problem
// goes to the log, never to the response.
func WithBroken(f func(fullName string) (problem string, broken bool)) ServerOption {
	return func(s *Server) { s.broken = f }
}

// Store is the server's store (nil without a database).
func (s *Server) Store() *Store { return s.store }

// NewServer returns the login HTTP server over the App's database (nil:
// every login route answers 503).
func NewServer(db *gorm.DB, lookup Lookup, opts ...ServerOption) *Server {
	s := &Server{
		lookup: lookup, logger: slog.Default(), now: time.Now,
		stateTTL:   10 * time.Minute, // WeChat's code lives 5 minutes; the consent page may take a while
		sessionTTL: 7 * 24 * time.Hour,
		dupWindow:  2 * time.Minute,
		exchangeTO: 30 * time.Second,
		providers:  func() []Provider { return nil },
		ticketPoll: 250 * time.Millisecond,
		appTitle:   func() string { return "本应用" },
	}
	s.ip, s.scheme = proxyTrust(nil)
	s.bindingKey = []byte(rand.Text() + rand.Text())
	if db != nil {
		s.store = NewStore(db)
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register adds the routes to e, and makes e read clients' addresses and
// schemes as the server does (WithTrustedProxies).
func (s *Server) Register(e *echo.Echo) {
	e.IPExtractor, e.SchemeExtractor = s.ip, s.scheme
	limit := s.limiter()
	e.GET("/auths/loginTypes", s.loginTypes)
	e.GET("/auths/loginTypes/:name/login", s.page(limit(s.needDB(s.login))))
	e.GET("/auths/loginTypes/:name/callback", s.page(limit(s.observed(s.needDB(s.callback)))))
	e.POST("/auths/loginTypes/:name/unbind", s.needDB(s.sameOrigin(s.unbind)))
	e.GET("/auths/session", s.needDB(s.session))
	e.GET("/auths/sessions", s.needDB(s.sessions))
	e.DELETE("/auths/sessions/:id", s.needDB(s.sameOrigin(s.endSession)))
	e.POST("/auths/logout", s.needDB(s.sameOrigin(s.logout)))
	s.registerQR(e, limit)
}

// loginTypes lists what the front end may know of every login element
// (JitAi's getLoginConfig, for all of them): title, Type, appId, default.
func (s *Server) loginTypes(c echo.Context) error {
	list := s.providers()
	out := make([]PublicConfig, len(list))
	for i, p := range list {
		out[i] = p.Public()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, out)
}

// Outcome keys under which a callback leaves its result on the echo
// context, for the request log.
const (
	OutcomeKey = "jit.outcome"
	ErrCodeKey = "jit.errcode"
	ElementKey = "jit.element"
)

// observed records a callback's outcome for metrics and the request log.
// Names that are not login elements are counted as "unknown", so request
// paths cannot grow the metric's label set.
func (s *Server) observed(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		element := "unknown"
		if p, ok := s.provider(c.Param("name")); ok {
			element = p.FullName()
		} else if full := "auths.loginTypes." + c.Param("name"); s.broken != nil {
			if _, broken := s.broken(full); broken { // a name the app has: the label set stays bounded
				element = full
			}
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

// needDB answers 503 when the app was opened without a database
// (jit.WithoutDatabase): logins then fail cleanly instead of panicking.
func (s *Server) needDB(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.store == nil {
			return fail(http.StatusServiceUnavailable, "database_unavailable", "服务器没有配置数据库，暂时无法登录。")
		}
		return h(c)
	}
}

func (s *Server) provider(name string) (Provider, bool) {
	el, ok := s.lookup("auths.loginTypes." + name)
	p, isLogin := el.(Provider)
	return p, ok && isLogin
}

func (s *Server) element(c echo.Context) (Provider, *Error) {
	p, ok := s.provider(c.Param("name"))
	if !ok {
		name := c.Param("name")
		if s.broken != nil {
			if problem, broken := s.broken("auths.loginTypes." + name); broken {
				s.logger.WarnContext(c.Request().Context(), "login element is broken", "element", "auths.loginTypes."+name, "problem", problem)
				return nil, fail(http.StatusServiceUnavailable, "element_broken", "这种登录方式的配置有误，暂时无法使用。")
			}
		}
		if r := []rune(name); len(r) > 64 { // the name is the request's: never echo much of it
			name = string(r[:64]) + "…"
		}
		return nil, fail(http.StatusNotFound, "login_type_not_found", "没有这种登录方式（auths.loginTypes.%s）。", name)
	}
	return p, nil
}

func (s *Server) login(c echo.Context) error {
	p, ferr := s.element(c)
	if ferr != nil {
		return ferr
	}
	base := s.baseURL(c.Request())
	reqHost := c.Request().Host
	if s.publicURL != nil {
		reqHost = "" // with a public URL the request's Host decides nothing
	}
	target, err := safeRedirect(c.QueryParam("redirectUrl"), base, reqHost, p.Policy().AllowedRedirectHosts)
	if err != nil {
		return fail(http.StatusBadRequest, "invalid_redirect", "登录后要返回的地址不安全（redirectUrl %v）。", err)
	}
	ctx := c.Request().Context()
	bindUser := ""
	if b := c.QueryParam("bind"); b == "1" || b == "true" {
		u, err := s.CurrentUser(c.Request())
		if err != nil {
			return withTarget(err, target)
		}
		bindUser = u.UserID
	}
	binding, fresh := s.ensureBinding(c)
	state := newToken()
	now := s.now()
	row := models.LoginState{
		State: state, LoginType: p.FullName(), BindingHash: hashHex(binding), RedirectURL: target, BindUserID: bindUser,
		Status: "pending", CreatedAt: now, ExpiresAt: now.Add(s.stateTTL),
	}
	if err := s.store.CreateState(ctx, &row); err != nil {
		return err
	}
	s.trimPending(ctx, row.BindingHash, fresh)
	s.sweep(ctx, now)

	callback := base.JoinPath("auths", "loginTypes", c.Param("name"), "callback").String()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, p.AuthCodeURL(callback, state))
}

// trimPending keeps a browser that already had a binding to a few pending
// logins (a fresh binding has none to trim).
func (s *Server) trimPending(ctx context.Context, bindingHash string, fresh bool) {
	if fresh {
		return
	}
	if err := s.store.trimPending(ctx, bindingHash); err != nil {
		s.logger.WarnContext(ctx, "trimming a browser's pending logins", "err", err)
	}
}

// sweep deletes long-expired login states and sessions as logins happen,
// at most once a minute per server, so that a login does not pay for a
// DELETE each time.
func (s *Server) sweep(ctx context.Context, now time.Time) {
	last := s.lastSweep.Load()
	if now.UnixNano()-last < int64(time.Minute) || !s.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	// An hour's grace: a logged-out session row is what refuses a late
	// duplicate callback of its login, and states outlive their sessions'
	// duplicate window.
	n, err := s.store.Sweep(ctx, now.Add(-time.Hour))
	if err != nil {
		s.logger.WarnContext(ctx, "sweeping ended logins and sessions", "swept", n, "err", err)
	} else if n > 0 {
		s.logger.DebugContext(ctx, "swept ended logins and sessions", "rows", n)
	}
}

func (s *Server) callback(c echo.Context) error {
	p, ferr := s.element(c)
	if ferr != nil {
		return ferr
	}
	ctx := c.Request().Context()
	c.Response().Header().Set("Cache-Control", "no-store")
	st, binding, code, ferr := s.callbackParams(c)
	if ferr != nil {
		s.logger.InfoContext(ctx, "login refused", "element", p.FullName(), "outcome", ferr.Code)
		return ferr
	}

	// The happy path is one statement: claim the state only if it is
	// pending, issued to this browser for this element, and not expired.
	// Anything else takes the slow path below, which says what is wrong.
	codeHash := hashHex(code)
	if code == "" { // a denial: the slow path checks the state and records it
		ferr := s.whyUnclaimed(ctx, p, st, binding, code)
		s.logger.InfoContext(ctx, "login refused", "element", p.FullName(), "outcome", ferr.Code)
		return ferr
	}
	claimed, err := s.store.ClaimState(ctx, st, p.FullName(), hashHex(binding), codeHash, s.now())
	if err != nil {
		return err
	}
	if claimed == nil {
		if ferr := s.whyUnclaimed(ctx, p, st, binding, code); ferr != nil {
			s.logger.InfoContext(ctx, "login refused", "element", p.FullName(), "outcome", ferr.Code)
			return ferr
		}
		return s.duplicate(c, p, st, binding, codeHash)
	}

	// The code is spent once sent to the provider: finish even if this
	// browser goes away, so a duplicate callback can pick up the result.
	xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.exchangeTO)
	defer cancel()
	token, err := s.finish(xctx, c, p, claimed, st, binding)
	if err != nil {
		ferr := asError(err)
		if ferr == nil {
			ferr = fail(http.StatusServiceUnavailable, "login_failed", "登录没有完成，请重试。")
			s.logger.ErrorContext(ctx, "login failed", "element", p.FullName(), "err", err)
		}
		if err := s.store.FailState(xctx, st, "exchanging", ferr); err != nil {
			s.logger.WarnContext(ctx, "recording a failed login", "element", p.FullName(), "err", err)
		}
		s.logger.WarnContext(ctx, "login failed", "element", p.FullName(), "outcome", ferr.Code, "errcode", ferr.ErrCode)
		if claimed.QRTicket != "" { // the phone sees why; the desktop sees denied
			if _, err := s.store.DenyTicket(xctx, claimed.QRTicket, ""); err != nil {
				s.logger.WarnContext(ctx, "denying a QR ticket", "element", p.FullName(), "err", err)
			}
			s.observeQR(p.FullName(), "denied")
		}
		return withTarget(ferr, claimed.RedirectURL)
	}
	if claimed.QRTicket != "" {
		s.logger.InfoContext(ctx, "login for a desktop, awaiting the phone's confirmation", "element", p.FullName())
		return s.confirmPage(c, claimed.QRTicket)
	}
	s.logger.InfoContext(ctx, "login", "element", p.FullName(), "outcome", "ok", "bind", claimed.BindUserID != "")
	if token != "" {
		c.SetCookie(s.cookie(s.baseURL(c.Request()), SessionCookie, token, s.sessionTTL))
	}
	return c.Redirect(http.StatusFound, claimed.RedirectURL)
}

// finish exchanges the code, applies the policy and the hook, and commits
// the login. It returns the new session's cookie value ("" for a bind).
func (s *Server) finish(ctx context.Context, c echo.Context, p Provider, claimed *models.LoginState, state, binding string) (string, error) {
	login, err := p.Exchange(ctx, c.QueryParam("code"))
	if err != nil {
		return "", upstreamFailure(err)
	}
	pol := p.Policy()
	res, err := s.store.Resolve(ctx, login.Identity, pol.LinkByUnionid)
	if err != nil {
		return "", err
	}
	bind := claimed.BindUserID != ""
	qr := claimed.QRTicket != ""
	user := res.User
	switch {
	case bind:
		if user != nil && user.ID != claimed.BindUserID {
			return "", errIdentityInUseError()
		}
		// The browser must still be logged in as the user who asked.
		if cur, err := s.CurrentUser(c.Request()); err != nil || cur.UserID != claimed.BindUserID {
			return "", fail(http.StatusUnauthorized, "not_logged_in", "请先登录，再绑定微信。")
		}
		if user, err = s.store.User(ctx, claimed.BindUserID); err != nil {
			return "", err
		}
	case user == nil && !pol.AllowRegister:
		return "", fail(http.StatusForbidden, "registration_closed", "这个微信还没有注册账号，本应用暂不开放注册。")
	case user != nil && user.Disabled:
		return "", fail(http.StatusForbidden, "user_disabled", "这个账号已被停用。")
	}
	if s.hook != nil {
		if err := s.hook(ctx, &LoginEvent{Identity: login.Identity, Profile: login.Profile, User: user, Bind: bind}); err != nil {
			s.logger.InfoContext(ctx, "login refused by the login hook", "element", p.FullName(), "err", err)
			return "", fail(http.StatusForbidden, "login_refused", "%s", hookMessage(err))
		}
	}
	f := Finish{Login: login, User: user, Bind: bind, State: state, Now: s.now()}
	token := ""
	if qr {
		f.QRTicket, f.PhoneBindingHash = claimed.QRTicket, hashHex(binding)
	} else if !bind {
		token = newToken()
		f.Session = s.newSession(c.Request(), token, login.Identity, state, binding)
	}
	if _, err := s.store.FinishLogin(ctx, f); errors.Is(err, errIdentityInUse) {
		return "", errIdentityInUseError()
	} else if errors.Is(err, errTicketGone) {
		return "", fail(http.StatusGone, "qr_expired", "二维码已失效，请在电脑上刷新二维码后重新扫码。")
	} else if err != nil {
		return "", err
	}
	return token, nil
}

func errIdentityInUseError() *Error {
	return fail(http.StatusConflict, "identity_in_use", "这个微信已经绑定了另一个账号，没有做任何改动。")
}

// hookMessage is what the person is shown of a hook's error, bounded.
func hookMessage(err error) string {
	msg := strings.TrimSpace(err.Error())
	if msg == "" {
		return "登录被拒绝。"
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200])
	}
	return msg
}

// newSession is a session for the cookie value token. A callback's session
// (state and binding known) is sealed for its duplicate callbacks; any
// other (a desktop's, by QR) has no duplicates and keeps no seal, which
// without a binding would be readable by anyone with the database.
func (s *Server) newSession(r *http.Request, token string, id Identity, state, binding string) *models.Session {
	now := s.now()
	sess := &models.Session{
		IDHash: hashHex(token), ID: newToken(), LoginType: id.LoginType, AppID: id.AppID, OpenID: id.OpenID,
		UserAgent: SummarizeUserAgent(r.UserAgent()), LoginState: state,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.sessionTTL),
	}
	if state != "" && binding != "" {
		sess.DupSeal = sealToken(token, binding, state)
	}
	return sess
}

// callbackParams checks what can be checked without the database.
func (s *Server) callbackParams(c echo.Context) (state, binding, code string, _ *Error) {
	raw := c.QueryParam("state")
	code = c.QueryParam("code")
	if raw == "" {
		return "", "", "", fail(http.StatusBadRequest, "state_missing", "登录链接不完整，请重新登录。")
	}
	// The per-login token is the last tokenLen characters; a marker a Type
	// puts before it may have been edited (hot reload) since the login
	// started, and the token alone is what the database knows.
	if len(raw) < tokenLen || len(raw) > 128 || !validToken(raw, 128) {
		return "", "", "", errStateInvalid()
	}
	st := raw[len(raw)-tokenLen:]
	binding, ok := s.binding(c)
	if !ok {
		return "", "", "", s.mismatch(c.Request().Context(), st)
	}
	if len(code) > 512 {
		return "", "", "", fail(http.StatusBadRequest, "code_invalid", "微信授权码无效，请重新登录。")
	}
	return st, binding, code, nil
}

func errStateInvalid() *Error {
	return fail(http.StatusBadRequest, "state_invalid", "这个登录链接不是本站发出的，请重新登录。")
}

func errBrowserMismatch() *Error {
	return fail(http.StatusForbidden, "state_browser_mismatch", "登录是在另一个浏览器里开始的，请在这里重新登录。")
}

// mismatch is the error of a callback without a binding cookie: a state
// this server issued was started in another browser, and still gives a
// safe place to go back to; any other state is not one of ours.
func (s *Server) mismatch(ctx context.Context, st string) *Error {
	row, err := s.store.State(ctx, st)
	switch {
	case errors.Is(err, errNoRow):
		return errStateInvalid()
	case err != nil:
		return errBrowserMismatch()
	}
	e := errBrowserMismatch()
	e.target = row.RedirectURL
	return e
}

// whyUnclaimed explains a state the happy path could not claim. It returns
// nil when the state was claimed before by this browser: a duplicate. It
// never returns nil for an empty code.
func (s *Server) whyUnclaimed(ctx context.Context, p Provider, st, binding, code string) *Error {
	row, err := s.store.State(ctx, st)
	switch {
	case errors.Is(err, errNoRow):
		return errStateInvalid()
	case err != nil:
		return fail(http.StatusServiceUnavailable, "database_unavailable", "暂时无法完成登录，请稍后再试。")
	case row.LoginType != p.FullName():
		return errStateInvalid()
	}
	var e *Error
	switch {
	case row.BindingHash != hashHex(binding):
		e = errBrowserMismatch()
	case row.Status == "pending" && !s.now().Before(row.ExpiresAt):
		e = fail(http.StatusBadRequest, "state_expired", "登录超时了，请重新登录。")
	case code == "" && row.Status == "pending":
		// WeChat's documented answer to "deny": state without code.
		e = fail(http.StatusForbidden, "authorization_denied", "你取消了微信授权，没有登录。")
		if err := s.store.FailState(ctx, st, "pending", e); err != nil {
			s.logger.WarnContext(ctx, "recording a declined login", "element", p.FullName(), "err", err)
		}
	case code == "":
		e = errStateUsed()
	default:
		return nil
	}
	e.target = row.RedirectURL
	return e
}

func errStateUsed() *Error {
	return fail(http.StatusConflict, "state_used", "这个登录链接已经用过了，请重新登录。")
}

// duplicate answers a second callback with an already claimed state: the
// same code from the same browser (Android's double redirect, a refresh,
// the back button) gets the first exchange's outcome and joins its
// session; anything else is a replay.
func (s *Server) duplicate(c echo.Context, p Provider, state, binding, codeHash string) error {
	ctx := c.Request().Context()
	deadline := time.NewTimer(s.exchangeTO)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		row, err := s.store.State(ctx, state)
		if err != nil {
			return err
		}
		used := withTarget(errStateUsed(), row.RedirectURL)
		if row.CodeHash != codeHash || row.UsedAt == nil || s.now().Sub(*row.UsedAt) > s.dupWindow {
			return used
		}
		switch row.Status {
		case "failed":
			return withTarget(&Error{Status: row.ErrStatus, Code: row.ErrCode, Message: row.ErrMessage}, row.RedirectURL)
		case "done":
			if row.QRTicket != "" { // the phone reloaded its confirmation page
				return s.confirmPage(c, row.QRTicket)
			}
			// A bind: the session it ran in stays as it is.
			return c.Redirect(http.StatusFound, row.RedirectURL)
		}
		done, err := s.store.SessionOfState(ctx, state)
		if err != nil {
			return err
		}
		if done != nil {
			token, ok := unsealToken(done.DupSeal, binding, state)
			if !ok || hashHex(token) != done.IDHash || !s.now().Before(done.ExpiresAt) {
				return used // logged out since: do not log them back in
			}
			s.logger.InfoContext(ctx, "duplicate callback joined the first exchange's session", "element", p.FullName())
			c.SetCookie(s.cookie(s.baseURL(c.Request()), SessionCookie, token, done.ExpiresAt.Sub(s.now())))
			return c.Redirect(http.StatusFound, row.RedirectURL)
		}
		if s.now().Sub(*row.UsedAt) > s.exchangeTO {
			return used // the first exchange died without an outcome
		}
		select {
		case <-ctx.Done():
			return fail(http.StatusServiceUnavailable, "login_in_progress", "登录还在进行中，请刷新页面。")
		case <-deadline.C:
			return fail(http.StatusGatewayTimeout, "login_in_progress", "登录还在进行中，请刷新页面。")
		case <-tick.C:
		}
	}
}

// upstreamFailure keeps a provider's *Error and turns anything else from
// the exchange into a retryable failure.
func upstreamFailure(err error) error {
	if e := asError(err); e != nil {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fail(http.StatusGatewayTimeout, "wechat_timeout", "登录服务没有及时响应，请稍后再试。")
	}
	return fail(http.StatusServiceUnavailable, "login_failed", "登录没有完成，请重试。")
}

// withTarget gives an error a safe place to send a browser back to.
func withTarget(err error, target string) error {
	e := asError(err)
	if e == nil {
		return err
	}
	cp := *e
	cp.target = target
	return &cp
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func (s *Server) baseURL(r *http.Request) *url.URL {
	if s.publicURL != nil {
		return s.publicURL
	}
	// The request's own scheme (X-Forwarded-Proto only from a trusted
	// proxy) and host.
	return &url.URL{Scheme: s.scheme(r), Host: r.Host}
}

// basePath is the path the app is mounted under, "/" at the root.
func basePath(base *url.URL) string {
	p := strings.TrimRight(base.Path, "/")
	return p + "/"
}

func (s *Server) cookieName(base *url.URL, name string) string {
	switch {
	case base.Scheme != "https":
		return name
	case basePath(base) != "/":
		return SecurePathPrefix + name
	}
	return SecurePrefix + name
}

// cookie makes a cookie that scripts cannot read and that a cross-site
// POST does not carry; maxAge 0 lasts for the browser session, <0 deletes.
func (s *Server) cookie(base *url.URL, name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: s.cookieName(base, name), Value: value, Path: basePath(base), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: base.Scheme == "https"}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
	}
	return ck
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

// Error is the JSON body of every error response.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ErrCode int    `json:"errcode,omitempty"` // the provider's errcode, when it refused
	// target is where a browser is sent back to with ?login_error=Code: the
	// login's checked redirectUrl, when the failure came after it was known.
	target string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrNotLoggedIn) true for a missing session.
func (e *Error) Is(target error) bool { return target == ErrNotLoggedIn && e.Code == "not_logged_in" }

func fail(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}
