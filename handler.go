package jit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

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
	Kind     elements.Kind `json:"kind,omitempty"` // none when broken
	Layer    string        `json:"layer"`
	Parent   string        `json:"parent,omitempty"`
	// Broken marks an element that exists on disk but has errors and no
	// good version; its problems are in the log and `jit validate`, not
	// here, since this route is public.
	Broken bool `json:"broken,omitempty"`
}

// Elements lists the registry for tools and the browser SDK, broken
// elements included (marked Broken): broken is not absent.
func (a *App) Elements() []ElementInfo {
	snap := a.rt.Snapshot()
	entries, broken := snap.Entries(), snap.BrokenElements()
	out := make([]ElementInfo, 0, len(entries)+len(broken))
	for _, e := range entries {
		out = append(out, ElementInfo{FullName: e.FullName, Title: e.Title, Type: e.Type, Kind: e.Kind, Layer: e.Layer, Parent: e.Parent})
	}
	for _, b := range broken {
		out = append(out, ElementInfo{FullName: b.FullName, Title: b.Title, Type: b.Type, Broken: true})
	}
	slices.SortStableFunc(out, func(x, y ElementInfo) int { return strings.Compare(x.FullName, y.FullName) })
	return out
}

func (a *App) buildHandler() (http.Handler, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = jsonErrors(a.opts.logger)
	// A request id for every request (kept when a proxy sent a sane one),
	// one log line per request, and a panic becomes a JSON 500 (its stack
	// goes to the log only) instead of a dropped connection.
	e.Use(requestIDs(), a.accessLog(), a.recoverPanics())

	serverOpts := []auths.ServerOption{auths.WithServerLogger(a.opts.logger), auths.WithLoginObserver(a.metrics.observeLogin),
		auths.WithProviders(a.loginElements), auths.WithQRObserver(a.metrics.observeQR), auths.WithAppTitle(a.title),
		auths.WithBroken(a.brokenProblem)}
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
	proxies, err := parseCIDRs(a.opts.proxies)
	if err != nil {
		return nil, err
	}
	serverOpts = append(serverOpts, auths.WithTrustedProxies(proxies), auths.WithRateLimit(a.opts.ratePerSec, a.opts.rateBurst))
	if a.bindingKey != nil {
		serverOpts = append(serverOpts, auths.WithBindingKey(a.bindingKey))
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

// maxRequestID is the longest X-Request-ID kept from a client or proxy.
const maxRequestID = 64

// requestIDs gives every request an id, in the X-Request-ID header of the
// request (for what runs after) and of the response. A proxy's id is kept
// when it is at most maxRequestID letters, digits, '.', '_' or '-';
// anything else (a 500 kB header, control characters, log-breaking
// quotes) is replaced by a new id rather than logged.
func requestIDs() echo.MiddlewareFunc {
	return middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		TargetHeader: echo.HeaderXRequestID,
		Generator:    rand.Text, // 26 characters of A-Z and 2-7
		RequestIDHandler: func(c echo.Context, id string) {
			if !validRequestID(id) {
				id = rand.Text()
				c.Response().Header().Set(echo.HeaderXRequestID, id)
			}
			c.Request().Header.Set(echo.HeaderXRequestID, id)
		},
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// maxPath is how many characters of a request path go into a log line or
// an error message: a path is the client's to choose, up to the header
// limit.
const maxPath = 256

// clipPath cuts p to maxPath characters, the last one an ellipsis.
func clipPath(p string) string {
	if len(p) <= maxPath || utf8.RuneCountInString(p) <= maxPath {
		return p
	}
	n := 0
	for i := range p {
		if n == maxPath-1 {
			return p[:i] + "…"
		}
		n++
	}
	return p
}

// accessLog writes one line per request. The query string is left out: a
// callback's carries the code and state. The error of the request is
// rendered first, so the status logged is the one sent.
func (a *App) accessLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError: true,
		LogLatency:  true,
		LogMethod:   true,
		LogURIPath:  true,
		LogStatus:   true,
		// Not LogRequestID: the id is read from the response, where
		// requestIDs put the one it kept or made.
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", v.Method),
				slog.String("path", clipPath(v.URIPath)),
				slog.Int("status", v.Status),
				slog.Duration("took", v.Latency),
			}
			if el, ok := c.Get(auths.ElementKey).(string); ok {
				attrs = append(attrs, slog.String("element", el), slog.Any("outcome", c.Get(auths.OutcomeKey)))
			}
			if code, ok := c.Get(auths.ErrCodeKey).(int); ok {
				attrs = append(attrs, slog.Int("errcode", code))
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelWarn
			}
			a.opts.logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// brokenProblem says whether fullName is a broken element (errors and
// nothing live), with its first problem, for the login routes' 503.
func (a *App) brokenProblem(fullName string) (string, bool) {
	b, ok := a.rt.Snapshot().Broken(fullName)
	if !ok {
		return "", false
	}
	if len(b.Problems) == 0 {
		return "broken", true
	}
	return b.Problems[0].Error(), true
}

// readyz says whether this replica should get traffic: the database
// answers, the elements are loaded, none is broken without a good version,
// and the last reload ran. An element whose edit broke it keeps serving its
// last good version and does not make the replica unready: every replica
// sharing the config would otherwise drop out at once. One that never had
// a good version (broken since startup) does: what it should serve is not
// served. The body names both kinds ("broken", "stale").
func (a *App) readyz(c echo.Context) error {
	checks := map[string]string{"elements": "ok", "database": "ok", "reload": "ok"}
	ready := true
	snap := a.rt.Snapshot()
	if snap.Len() == 0 {
		checks["elements"], ready = "none loaded", false
	}
	if a.db == nil {
		checks["database"], ready = "not configured", false
	} else if sqlDB, err := a.db.DB(); err != nil || sqlDB.PingContext(c.Request().Context()) != nil {
		checks["database"], ready = "unreachable", false
	}
	if missing := snap.MissingFolders(); len(missing) > 0 {
		// Folder names only: the server's paths are nobody's business.
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = filepath.Base(m)
		}
		checks["folder"], ready = "app folder missing: "+strings.Join(names, ", "), false
	}
	if a.lastReloadFailed.Load() {
		checks["reload"], ready = "the last reload failed", false
	}
	broken := []string{}
	for _, b := range snap.BrokenElements() {
		broken = append(broken, b.FullName)
	}
	if len(broken) > 0 {
		checks["elements"], ready = fmt.Sprintf("%d broken with no good version: %s", len(broken), strings.Join(broken, ", ")), false
	}
	errs := 0
	stale := []string{}
	seen := map[string]bool{}
	for _, p := range snap.Problems() {
		if p.Severity != elements.SeverityError {
			continue
		}
		errs++
		if _, live := snap.Get(p.Element); live && p.Element != "" && !seen[p.Element] {
			seen[p.Element] = true
			stale = append(stale, p.Element)
		}
	}
	sort.Strings(stale)
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not_ready"
	}
	return c.JSON(status, map[string]any{"status": word, "checks": checks, "problems": errs, "broken": broken, "stale": stale})
}

// qrcode draws a QR code of a path on this site, so a desktop visitor can
// open the login in WeChat. Only own paths: the server must not become a
// QR code service for arbitrary links.
func (a *App) qrcode(c echo.Context) error {
	p := c.QueryParam("path")
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return &auths.Error{Status: http.StatusBadRequest, Code: "invalid_path", Message: "path must be a path on this site starting with /"}
	}
	if len(p) > maxQRPath {
		return &auths.Error{Status: http.StatusBadRequest, Code: "invalid_path", Message: fmt.Sprintf("path must be at most %d bytes", maxQRPath)}
	}
	base, cache := a.opts.publicURL, "public, max-age=300"
	if u, err := url.Parse(base); err == nil && base != "" {
		base = u.Scheme + "://" + u.Host // the path is on this site already
	}
	if base == "" {
		// The code holds this request's host: no shared cache may keep it
		// for another.
		base, cache = c.Scheme()+"://"+c.Request().Host, "private, max-age=300"
	}
	png, err := a.qrCodes.get(strings.TrimRight(base, "/")+p, func(text string) ([]byte, error) { return web.QRCodePNG(text, 320) })
	if err != nil {
		return &auths.Error{Status: http.StatusBadRequest, Code: "invalid_path", Message: err.Error()}
	}
	c.Response().Header().Set("Cache-Control", cache)
	return c.Blob(http.StatusOK, "image/png", png)
}

// maxQRPath bounds what /jit/qrcode.png draws.
const maxQRPath = 512

// qrCache keeps the PNGs of recently drawn links: a page polling or
// reloading its QR asks for the same one again. It is bounded by emptying
// it when full, which is all a few dozen entries need.
type qrCache struct {
	mu   sync.Mutex
	pngs map[string][]byte
}

const qrCacheSize = 64

func (q *qrCache) get(text string, draw func(string) ([]byte, error)) ([]byte, error) {
	q.mu.Lock()
	png, ok := q.pngs[text]
	q.mu.Unlock()
	if ok {
		return png, nil
	}
	png, err := draw(text)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if q.pngs == nil || len(q.pngs) >= qrCacheSize {
		q.pngs = make(map[string][]byte, qrCacheSize)
	}
	q.pngs[text] = png
	q.mu.Unlock()
	return png, nil
}

// publicFS is the public/ folder of the first layer that has one: a child
// app's pages replace its parent's.
func (a *App) publicFS() fs.FS {
	for _, l := range a.rt.Layers() {
		if fi, err := fs.Stat(l.FS, "public"); err == nil && fi.IsDir() {
			if l.Dir != "" {
				return publicFiles{dir: filepath.Join(l.Dir, "public")}
			}
			sub, err := fs.Sub(l.FS, "public")
			if err == nil {
				return publicFiles{fsys: sub}
			}
		}
	}
	return nil
}

// publicFiles is what of a public/ folder may be served: regular files,
// and folders (for their index.html; never listed), whose real path stays
// inside the folder, and no dotfile or dot-folder but .well-known/. A
// symlink is followed only while it stays inside (a link to /etc/passwd,
// to /, or to the app's element folders is not served), and a FIFO,
// socket or device is never opened.
type publicFiles struct {
	dir  string // the folder on disk, when the layer is on disk
	fsys fs.FS  // else the folder of an embedded or in-memory tree (no symlinks there)
}

// Stat makes fs.Stat (hasPublicFile) check a name without opening it.
func (p publicFiles) Stat(name string) (fs.FileInfo, error) {
	root, _, fi, err := p.stat(name)
	if root != nil {
		_ = root.Close()
	}
	return fi, err
}

func (p publicFiles) Open(name string) (fs.File, error) {
	root, real, _, err := p.stat(name)
	if err != nil {
		return nil, err
	}
	if root == nil {
		f, err := p.fsys.Open(name)
		if err != nil {
			return nil, notServed(name)
		}
		return checkOpened(f, name)
	}
	defer root.Close()
	// O_NONBLOCK: should a FIFO replace the file after the stat, opening
	// it must not wait for a writer; checkOpened then refuses it.
	f, err := root.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, notServed(name)
	}
	return checkOpened(f, name)
}

// stat checks that name may be served and says what it is. On disk, the
// real path (symlinks resolved) must be inside the real public folder; a
// link out of it (absolute, or climbing with ..) is refused, a link that
// stays inside is followed. stat then returns the real folder opened as an
// os.Root, for the caller to open the real path in and close: os.Root
// refuses to leave the folder, so a symlink swapped in after the check
// cannot lead out either. The folder is resolved per request: a reload or
// a ConfigMap swap may replace it.
func (p publicFiles) stat(name string) (*os.Root, string, fs.FileInfo, error) {
	if !fs.ValidPath(name) || hiddenPublicPath(name) {
		return nil, "", nil, notServed(name)
	}
	if p.dir == "" {
		fi, err := fs.Stat(p.fsys, name)
		if err != nil || !servable(fi) {
			return nil, "", nil, notServed(name)
		}
		return nil, name, fi, nil
	}
	dir, err := filepath.EvalSymlinks(p.dir)
	if err != nil {
		return nil, "", nil, notServed(name)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, "", nil, notServed(name)
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return nil, "", nil, notServed(name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", nil, notServed(name)
	}
	fi, err := root.Stat(rel)
	if err != nil || !servable(fi) {
		_ = root.Close()
		return nil, "", nil, notServed(name)
	}
	return root, rel, fi, nil
}

// notServed is the one error for anything not served, whatever the reason
// (missing, outside, hidden, a FIFO): http.FileServer makes it a 404.
func notServed(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// checkOpened refuses what was opened unless it is a regular file or a
// folder. A folder comes without ReadDir, so it can never be listed.
func checkOpened(f fs.File, name string) (fs.File, error) {
	fi, err := f.Stat()
	if err != nil || !servable(fi) {
		_ = f.Close()
		return nil, notServed(name)
	}
	if fi.IsDir() {
		return unlistedDir{f}, nil
	}
	return f, nil
}

// unlistedDir is a public folder opened for its index.html: it hides the
// file's ReadDir, so http.FileServer cannot list it.
type unlistedDir struct{ fs.File }

func servable(fi fs.FileInfo) bool { return fi.Mode().IsRegular() || fi.IsDir() }

// hiddenPublicPath reports whether a slash path of public/ has a component
// starting with "." (.env, .git/config, .DS_Store), other than a leading
// .well-known (RFC 8615: ACME challenges, apple-app-site-association).
func hiddenPublicPath(name string) bool {
	if name == "." {
		return false
	}
	for i, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") && (i > 0 || part != ".well-known") {
			return true
		}
	}
	return false
}

// errPanic is what a recovered panic becomes: a plain 500, logged once.
var errPanic = &auths.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}

// recoverPanics turns a panic into a JSON 500 (its stack goes to the log
// only) instead of a dropped connection. http.ErrAbortHandler still aborts.
func (a *App) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		StackSize:       16 << 10,
		DisableStackAll: true, // this goroutine's stack, not every request's
		// errPanic goes up to the request log like any error, which
		// renders it with jsonErrors.
		DisableErrorHandler: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			a.opts.logger.ErrorContext(c.Request().Context(), "panic serving request",
				"method", c.Request().Method, "path", clipPath(c.Request().URL.Path), "panic", err.Error(), "stack", string(stack))
			return errPanic
		},
	})
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
			body = ae // its messages quote request values cut short already
		case errors.As(err, &he):
			body = &auths.Error{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), Message: http.StatusText(he.Code)}
		default:
			logger.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method, "path", clipPath(c.Request().URL.Path), "error", err)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(body.Status)
			return
		}
		_ = c.JSON(body.Status, body)
	}
}
