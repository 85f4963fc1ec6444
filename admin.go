package jit

import (
	"encoding/json"
	"net/http"
	"path"

	"github.com/jitwx/jit/auths"
)

// adminPaths are the operator routes: GET /healthz (the process is up),
// GET /readyz (this replica should get traffic) and GET /metrics
// (Prometheus). Handler serves them beside the app's routes.
var adminPaths = [...]string{"/healthz", "/readyz", "/metrics"}

// AdminHandler serves only the operator routes, GET /healthz, /readyz and
// /metrics, exactly as Handler does (same request ids, access log and JSON
// errors); any other path is a JSON 404. Mount it on a listener that only
// operators and the metrics scraper reach (`jit serve --admin-addr`), and
// PublicHandler on the public one.
func (a *App) AdminHandler() http.Handler {
	h := a.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isAdminPath(r.URL.Path) {
			notFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// PublicHandler is Handler without the operator routes: /healthz, /readyz
// and /metrics answer the JSON 404 of any unknown path, so the metrics and
// the readiness details stay off the public listener. Pair it with
// AdminHandler on another listener.
func (a *App) PublicHandler() http.Handler {
	h := a.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Cleaned, so that a router option that forgives "/metrics/" or
		// "//metrics", now or later, does not reopen the routes here.
		if isAdminPath(path.Clean("/" + r.URL.Path)) {
			notFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isAdminPath reports whether the decoded request path p is an operator
// route. Handler's router matches the decoded path, or the raw one, which
// decodes to it, so every spelling that reaches an operator route has one
// of these decoded paths.
func isAdminPath(p string) bool {
	for _, a := range adminPaths {
		if p == a {
			return true
		}
	}
	return false
}

// notFound writes the JSON 404 Handler answers for an unknown path.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(&auths.Error{Code: "not_found", Message: http.StatusText(http.StatusNotFound)})
}
