package jit

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/web"
	"github.com/jitwx/jit/elements"
)

// ElementInfo is one row of GET /api/elements. It carries no config, so no
// secret can leak through it.
type ElementInfo struct {
	FullName string        `json:"fullName"`
	Title    string        `json:"title"`
	Type     string        `json:"type,omitempty"`
	Kind     elements.Kind `json:"kind"`
	Layer    string        `json:"layer"`
	Parent   string        `json:"parent,omitempty"`
}

// Elements lists the registry for tools and the browser SDK.
func (a *App) Elements() []ElementInfo {
	entries := a.rt.Snapshot().Entries()
	out := make([]ElementInfo, len(entries))
	for i, e := range entries {
		out[i] = ElementInfo{FullName: e.FullName, Title: e.Title, Type: e.Type, Kind: e.Kind, Layer: e.Layer, Parent: e.Parent}
	}
	return out
}

func (a *App) buildHandler() (http.Handler, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = jsonErrors(a.opts.logger)
	// A request id for every request (kept when a proxy sent one), one log
	// line per request, and a panic becomes a JSON 500 (its stack goes to
	// the log only) instead of a dropped connection.
	e.Use(middleware.RequestID(), a.accessLog, a.recoverPanics)

	serverOpts := []auths.ServerOption{auths.WithServerLogger(a.opts.logger), auths.WithLoginObserver(a.metrics.observeLogin),
		auths.WithProviders(a.loginElements), auths.WithQRObserver(a.metrics.observeQR), auths.WithAppTitle(a.title)}
	if a.listenDSN() != "" {
		// Replicas wake each other's QR long polls by NOTIFY; reading the
		// database is then only the fallback for a missed notification.
		serverOpts = append(serverOpts, auths.WithTicketPoll(2*time.Second))
	}
	if a.opts.sessionTTL > 0 {
		serverOpts = append(serverOpts, auths.WithSessionTTL(a.opts.sessionTTL))
	}
	if a.opts.loginHook != nil {
		serverOpts = append(serverOpts, auths.WithLoginHook(a.opts.loginHook))
	}
	if a.opts.publicURL != "" {
		u, err := url.Parse(a.opts.publicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
			return nil, errors.New("public URL must be an absolute http(s) URL such as https://h5.example.com or https://h5.example.com/app/")
		}
		serverOpts = append(serverOpts, auths.WithPublicURL(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimRight(u.Path, "/")}))
	}
	a.auth = auths.NewServer(a.db, a.Lookup, serverOpts...)
	a.auth.Register(e)

	e.GET("/api/elements", func(c echo.Context) error { return c.JSON(http.StatusOK, a.Elements()) })
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", a.readyz)
	e.GET("/metrics", echo.WrapHandler(a.metrics.handler()))
	sdk := http.FileServerFS(web.Assets())
	e.GET("/jit/:file", func(c echo.Context) error {
		switch c.Param("file") {
		case "sdk.js", "sdk.d.ts":
			c.Request().URL.Path = "/" + c.Param("file")
			c.Response().Header().Set("Cache-Control", "no-cache")
			sdk.ServeHTTP(c.Response(), c.Request())
			return nil
		case "qrcode.png":
			return a.qrcode(c)
		}
		return echo.ErrNotFound
	})
	if a.sim != nil {
		e.Any("/_wechat/*", echo.WrapHandler(a.sim))
	}
	if pub := a.publicFS(); pub != nil {
		files := http.FileServerFS(pub)
		e.GET("/*", func(c echo.Context) error {
			if !hasPublicFile(pub, c.Request().URL.Path) {
				return echo.ErrNotFound // a JSON 404, like every other error
			}
			files.ServeHTTP(c.Response(), c.Request())
			return nil
		})
	}
	return e, nil
}

// accessLog writes one line per request. The query string is left out: a
// callback's carries the code and state.
func (a *App) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err) // render it now, so the status below is final
		}
		req, res := c.Request(), c.Response()
		attrs := []slog.Attr{
			slog.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", res.Status),
			slog.Duration("took", time.Since(start)),
		}
		if el, ok := c.Get(auths.ElementKey).(string); ok {
			attrs = append(attrs, slog.String("element", el), slog.Any("outcome", c.Get(auths.OutcomeKey)))
		}
		if code, ok := c.Get(auths.ErrCodeKey).(int); ok {
			attrs = append(attrs, slog.Int("errcode", code))
		}
		level := slog.LevelInfo
		if res.Status >= 500 {
			level = slog.LevelWarn
		}
		a.opts.logger.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// readyz says whether this replica should get traffic: the database
// answers, the elements are loaded, and the last reload ran. Broken
// elements are reported but do not make it unready: their last good
// versions are serving, and every replica sharing the config would
// otherwise drop out at once.
func (a *App) readyz(c echo.Context) error {
	checks := map[string]string{"elements": "ok", "database": "ok", "reload": "ok"}
	ready := true
	if a.rt.Snapshot().Len() == 0 {
		checks["elements"], ready = "none loaded", false
	}
	if a.db == nil {
		checks["database"], ready = "not configured", false
	} else if sqlDB, err := a.db.DB(); err != nil || sqlDB.PingContext(c.Request().Context()) != nil {
		checks["database"], ready = "unreachable", false
	}
	if a.lastReloadFailed.Load() {
		checks["reload"], ready = "the last reload failed", false
	}
	broken := 0
	for _, p := range a.Problems() {
		if p.Severity == elements.SeverityError {
			broken++
		}
	}
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not_ready"
	}
	return c.JSON(status, map[string]any{"status": word, "checks": checks, "problems": broken})
}

// qrcode draws a QR code of a path on this site, so a desktop visitor can
// open the login in WeChat. Only own paths: the server must not become a
// QR code service for arbitrary links.
func (a *App) qrcode(c echo.Context) error {
	p := c.QueryParam("path")
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return &auths.Error{Status: http.StatusBadRequest, Code: "invalid_path", Message: "path must be a path on this site starting with /"}
	}
	base := a.opts.publicURL
	if u, err := url.Parse(base); err == nil && base != "" {
		base = u.Scheme + "://" + u.Host // the path is on this site already
	}
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	png, err := web.QRCodePNG(strings.TrimRight(base, "/")+p, 320)
	if err != nil {
		return &auths.Error{Status: http.StatusBadRequest, Code: "invalid_path", Message: err.Error()}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "image/png", png)
}

// publicFS is the public/ folder of the first layer that has one: a child
// app's pages replace its parent's.
func (a *App) publicFS() fs.FS {
	for _, l := range a.rt.Layers() {
		if fi, err := fs.Stat(l.FS, "public"); err == nil && fi.IsDir() {
			sub, err := fs.Sub(l.FS, "public")
			if err == nil {
				return sub
			}
		}
	}
	return nil
}

// errPanic is what a recovered panic becomes: a plain 500, logged once.
var errPanic = &auths.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}

// recoverPanics turns a panic into a JSON 500 (its stack goes to the log
// only) instead of a dropped connection. http.ErrAbortHandler still aborts.
func (a *App) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.opts.logger.ErrorContext(c.Request().Context(), "panic serving request",
				"method", c.Request().Method, "path", c.Request().URL.Path, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errPanic
		}()
		return next(c)
	}
}

// hasPublicFile reports whether urlPath names a file in pub, or a folder
// with an index.html. Anything else is left to the JSON 404, and folders
// are never listed.
func hasPublicFile(pub fs.FS, urlPath string) bool {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "."
	}
	fi, err := fs.Stat(pub, name)
	if err != nil {
		return false
	}
	if fi.IsDir() {
		fi, err = fs.Stat(pub, path.Join(name, "index.html"))
		return err == nil && !fi.IsDir()
	}
	return true
}

// jsonErrors renders every error as {"code","message"}. Anything that is
// not a known client or upstream error becomes a 500 with a generic
// message; its details go to the log only.
func jsonErrors(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var ae *auths.Error
		var he *echo.HTTPError
		body := &auths.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
		switch {
		case errors.As(err, &ae):
			body = ae
		case errors.As(err, &he):
			body = &auths.Error{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), Message: http.StatusText(he.Code)}
		default:
			logger.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(body.Status)
			return
		}
		_ = c.JSON(body.Status, body)
	}
}
