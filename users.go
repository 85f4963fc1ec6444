package jit

import (
	"context"
	"net/http"

	"github.com/jitwx/jit/auths"
)

// ErrNotLoggedIn is matched (errors.Is) by CurrentUser's error for a
// request without a live session.
var ErrNotLoggedIn = auths.ErrNotLoggedIn

// CurrentUser returns the logged-in user of r, reading the session cookie
// exactly as the login routes write it (also behind a TLS-terminating
// proxy). Without a live session the error matches ErrNotLoggedIn.
func (a *App) CurrentUser(r *http.Request) (*auths.SessionUser, error) {
	return a.auth.CurrentUser(r)
}

// RequireLogin runs next only for a logged-in user, who is then in the
// request's context (UserFromContext). Otherwise a browser navigation
// (Accept: text/html) is sent to the default login element's login route
// (e.json "default": 1, else the only login element) and back to the
// requested page afterwards; any other request gets 401 JSON not_logged_in.
func (a *App) RequireLogin(next http.Handler) http.Handler { return a.auth.RequireLogin(next) }

// UserFromContext returns the user RequireLogin put in a request's context.
func UserFromContext(ctx context.Context) (*auths.SessionUser, bool) {
	return auths.UserFromContext(ctx)
}

// EndSessions logs a user out everywhere: every session, on every replica.
func (a *App) EndSessions(ctx context.Context, userID string) error {
	return a.auth.EndSessions(ctx, userID)
}

// loginElements are the live login elements, for RequireLogin's default.
func (a *App) loginElements() []auths.Provider {
	var out []auths.Provider
	for _, e := range a.rt.Snapshot().Entries() {
		if p, ok := e.Object.(auths.Provider); ok {
			out = append(out, p)
		}
	}
	return out
}
