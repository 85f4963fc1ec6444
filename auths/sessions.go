package auths

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
)

// ErrNotLoggedIn is matched (errors.Is) by the error of a request without
// a live session.
var ErrNotLoggedIn = errors.New("not logged in")

// SessionUser is the logged-in user of a request, and the JSON of
// GET /auths/session. LoginType, OpenID and UnionID are those of the
// identity the session logged in with.
type SessionUser struct {
	UserID     string     `json:"userId"`
	Nickname   string     `json:"nickname"`
	HeadImgURL string     `json:"headimgurl"`
	LoginType  string     `json:"loginType"`
	OpenID     string     `json:"openid"`
	UnionID    string     `json:"unionid"`
	Identities []Identity `json:"identities"`

	sessionID string
}

// SessionID is the public id of the session (as in GET /auths/sessions).
func (u *SessionUser) SessionID() string { return u.sessionID }

func errNotLoggedIn() *Error {
	return fail(http.StatusUnauthorized, "not_logged_in", "请先登录。")
}

// lastSeenEvery is how often a session's lastSeenAt is written at most.
const lastSeenEvery = time.Minute

// CurrentUser returns the logged-in user of a request: from the session
// cookie, named as the routes name it (behind a TLS-terminating proxy
// too). Without a live session the error matches ErrNotLoggedIn.
func (s *Server) CurrentUser(r *http.Request) (*SessionUser, error) {
	if s.store == nil {
		return nil, fail(http.StatusServiceUnavailable, "database_unavailable", "服务器没有配置数据库，暂时无法登录。")
	}
	ck, err := r.Cookie(s.cookieName(s.baseURL(r), SessionCookie))
	if err != nil || !validToken(ck.Value, 64) {
		return nil, errNotLoggedIn()
	}
	ctx := r.Context()
	now := s.now()
	sess, user, err := s.store.SessionByToken(ctx, ck.Value, now)
	if errors.Is(err, errNoRow) {
		return nil, errNotLoggedIn()
	}
	if err != nil {
		return nil, err
	}
	ids, err := s.store.Identities(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	if now.Sub(sess.LastSeenAt) >= lastSeenEvery {
		if err := s.store.TouchSession(ctx, sess.IDHash, now); err != nil {
			s.logger.WarnContext(ctx, "recording a session's last use", "err", err)
		}
	}
	u := &SessionUser{UserID: user.ID, Nickname: user.Nickname, HeadImgURL: user.AvatarURL, LoginType: sess.LoginType,
		OpenID: sess.OpenID, Identities: make([]Identity, len(ids)), sessionID: sess.ID}
	for i, id := range ids {
		u.Identities[i] = Identity{LoginType: id.LoginType, AppID: id.AppID, OpenID: id.OpenID, UnionID: id.UnionID}
		if id.AppID == sess.AppID && id.OpenID == sess.OpenID {
			u.UnionID = id.UnionID
		}
	}
	return u, nil
}

type userKey struct{}

// ContextWithUser returns ctx carrying u, as RequireLogin does.
func ContextWithUser(ctx context.Context, u *SessionUser) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFromContext returns the user RequireLogin put in a request's context.
func UserFromContext(ctx context.Context) (*SessionUser, bool) {
	u, ok := ctx.Value(userKey{}).(*SessionUser)
	return u, ok
}

// RequireLogin runs next with the user in the request's context
// (UserFromContext). Without a session, a browser navigation is sent to
// the default login element's login route and back; any other request
// gets 401 JSON not_logged_in.
func (s *Server) RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.CurrentUser(r)
		if err == nil {
			next.ServeHTTP(w, r.WithContext(ContextWithUser(r.Context(), u)))
			return
		}
		if errors.Is(err, ErrNotLoggedIn) && wantsHTML(r) {
			if p := s.defaultProvider(); p != nil {
				back := r.RequestURI // as the browser sent it, before any StripPrefix
				if back == "" {
					back = r.URL.RequestURI()
				}
				name := strings.TrimPrefix(p.FullName(), "auths.loginTypes.")
				to := s.baseURL(r).JoinPath("auths", "loginTypes", name, "login")
				to.RawQuery = "redirectUrl=" + queryEscape(back)
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, to.String(), http.StatusFound)
				return
			}
			if s.warnedNoDefault.CompareAndSwap(false, true) {
				s.logger.WarnContext(r.Context(), `RequireLogin has no login element to send browsers to: mark one with "default": 1 in its e.json; until then browsers get 401`)
			}
		}
		e := asError(err)
		if e == nil {
			s.logger.ErrorContext(r.Context(), "reading the session", "err", err)
			e = fail(http.StatusServiceUnavailable, "database_unavailable", "暂时无法确认登录状态，请稍后再试。")
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(e)
	})
}

// defaultProvider is the login element marked default (e.json default: 1),
// else the only one; nil when there is no such single element.
func (s *Server) defaultProvider() Provider {
	list := s.providers()
	for _, p := range list {
		if p.Policy().Default {
			return p
		}
	}
	if len(list) == 1 {
		return list[0]
	}
	return nil
}

// EndSessions ends every session of a user, on every replica.
func (s *Server) EndSessions(ctx context.Context, userID string) error {
	if s.store == nil {
		return errors.New("auths: no database")
	}
	return s.store.EndAllSessions(ctx, userID, s.now())
}

func (s *Server) session(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	u, err := s.CurrentUser(c.Request())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// SessionInfo is one row of GET /auths/sessions.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	UserAgent  string    `json:"userAgent"`
	LoginType  string    `json:"loginType"`
	Current    bool      `json:"current"`
}

func (s *Server) sessions(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	u, err := s.CurrentUser(c.Request())
	if err != nil {
		return err
	}
	list, err := s.store.Sessions(c.Request().Context(), u.UserID, s.now())
	if err != nil {
		return err
	}
	out := make([]SessionInfo, len(list))
	for i, x := range list {
		out[i] = SessionInfo{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, UserAgent: x.UserAgent,
			LoginType: x.LoginType, Current: x.ID == u.sessionID}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) endSession(c echo.Context) error {
	u, err := s.CurrentUser(c.Request())
	if err != nil {
		return err
	}
	ok, err := s.store.EndUserSession(c.Request().Context(), u.UserID, c.Param("id"), s.now())
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusNotFound, "session_not_found", "没有这个登录设备。")
	}
	if c.Param("id") == u.sessionID {
		c.SetCookie(s.cookie(s.baseURL(c.Request()), SessionCookie, "", -1))
	}
	return c.NoContent(http.StatusNoContent)
}

// logout ends this browser's session, or with ?all=1 every session of its
// user.
func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	base := s.baseURL(r)
	if all := c.QueryParam("all"); all == "1" || all == "true" {
		u, err := s.CurrentUser(r)
		if err != nil {
			return err
		}
		if err := s.store.EndAllSessions(r.Context(), u.UserID, s.now()); err != nil {
			return err
		}
	} else if ck, err := c.Cookie(s.cookieName(base, SessionCookie)); err == nil && validToken(ck.Value, 64) {
		if err := s.store.EndSession(r.Context(), ck.Value, s.now()); err != nil {
			return err
		}
	}
	c.SetCookie(s.cookie(base, SessionCookie, "", -1))
	return c.NoContent(http.StatusNoContent)
}

// unbind detaches the current user's identity of a login element.
func (s *Server) unbind(c echo.Context) error {
	p, ferr := s.element(c)
	if ferr != nil {
		return ferr
	}
	u, err := s.CurrentUser(c.Request())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var forget func(tx *gorm.DB, id Identity) error
	if ub, ok := p.(Unbinder); ok {
		forget = func(tx *gorm.DB, id Identity) error { return ub.Unbind(ctx, tx, id) }
	}
	switch err := s.store.Unbind(ctx, u.UserID, p.Public().AppID, forget); {
	case errors.Is(err, errNoRow):
		return fail(http.StatusNotFound, "identity_not_found", "这个账号没有绑定这种登录方式。")
	case errors.Is(err, errLastIdentity):
		return fail(http.StatusConflict, "last_identity", "这是账号唯一的登录方式，不能解绑。")
	case err != nil:
		return err
	}
	s.logger.InfoContext(ctx, "identity unbound", "element", p.FullName(), "user_id", u.UserID)
	return c.NoContent(http.StatusNoContent)
}

// sameOrigin refuses a request a browser sent from another site: a
// cross-site form must not unbind or log anyone out. Sec-Fetch-Site and
// Origin are set by browsers and cannot be forged by a page; a client that
// sends neither is not a browser, and so carries no ambient cookies.
func (s *Server) sameOrigin(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			return errCrossSite()
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			base := s.baseURL(r)
			if !strings.EqualFold(origin, base.Scheme+"://"+base.Host) {
				return errCrossSite()
			}
		}
		return h(c)
	}
}

func errCrossSite() *Error {
	return fail(http.StatusForbidden, "cross_site", "只能在本站页面上进行这个操作。")
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
