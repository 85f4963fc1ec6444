// Package jit opens an app folder of elements and serves it.
//
//	app, err := jit.Open(ctx, "myapp")
//	defer app.Close()
//	svc, err := app.GetElement("auths.loginTypes.MyWechatLogin.services.WechatPublicAuthSvc")
//
// The official elements (auths.loginTypes.WechatPublicType and its Meta) are
// built in; an app can rewrite them or extend other apps (app.json
// "extends"). Config edits are picked up while the app runs.
package jit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"gorm.io/gorm"

	"github.com/jitwx/jit/auths"
	_ "github.com/jitwx/jit/auths/wechatpublic" // the built-in WeChat login Type
	_ "github.com/jitwx/jit/auths/wechatweb"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/models"
	"github.com/jitwx/jit/runtime"
)

// ErrElementNotFound is matched by the error GetElement returns for an
// unknown full name.
var ErrElementNotFound = errors.New("element not found")

// NotFoundError says which name was asked for and which exist nearby.
type NotFoundError struct {
	Name    string
	Closest []string
}

func (e *NotFoundError) Error() string {
	if len(e.Closest) == 0 {
		return fmt.Sprintf("element %q not found", e.Name)
	}
	return fmt.Sprintf("element %q not found; closest: %s", e.Name, strings.Join(e.Closest, ", "))
}

// Is makes errors.Is(err, ErrElementNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrElementNotFound }

// ErrElementBroken is matched by the error GetElement returns for an
// element that exists but has nothing live: its files or config have
// errors and it never had a good version.
var ErrElementBroken = errors.New("element broken")

// BrokenError says which element is broken and why. Its Problems (each an
// *elements.Problem with the file, field and message) are also what it
// unwraps to.
type BrokenError struct {
	Name     string // the name asked for
	Element  string // the broken element: Name, or the instance owning the sub-element Name
	Problems elements.Problems
}

func (e *BrokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "element %q is broken", e.Name)
	if e.Element != e.Name {
		fmt.Fprintf(&b, " (its element %s is)", e.Element)
	}
	if len(e.Problems) > 0 {
		b.WriteString(": " + e.Problems[0].Error())
		if n := len(e.Problems) - 1; n > 0 {
			fmt.Fprintf(&b, " (and %d more)", n)
		}
	}
	return b.String()
}

// Is makes errors.Is(err, ErrElementBroken) true.
func (e *BrokenError) Is(target error) bool { return target == ErrElementBroken }

// Unwrap gives the problems, for errors.As(err, &*elements.Problem).
func (e *BrokenError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// App is an opened app: its elements, database and HTTP handler.
type App struct {
	rt         *runtime.Runtime
	watcher    *runtime.Watcher
	db         *gorm.DB
	dbPath     string
	opts       options
	handler    http.Handler
	auth       *auths.Server
	sim        http.Handler // the dev-mode WeChat simulator, nil otherwise
	sealer     elements.Sealer
	metrics    *metrics
	stopListen func() // the PostgreSQL LISTEN for QR tickets, when running
	bindingKey []byte // signs browser binding cookies; shared through the database
	qrCodes    qrCache
	// lastReloadFailed is set after each reload; /readyz reports it.
	lastReloadFailed atomic.Bool
}

// Open opens the app folder dir, with hot reload unless WithoutReload is given.
func Open(ctx context.Context, dir string, opts ...Option) (*App, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("opening app: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("opening app: %s is not a folder", dir)
	}
	return open(ctx, os.DirFS(dir), ".", dir, opts)
}

// OpenFS opens the app at appPath inside fsys (an embedded or in-memory
// tree). Such apps are not watched.
func OpenFS(ctx context.Context, fsys fs.FS, appPath string, opts ...Option) (*App, error) {
	return open(ctx, fsys, appPath, "", opts)
}

func open(ctx context.Context, fsys fs.FS, appPath, dir string, optList []Option) (_ *App, err error) {
	o := defaultOptions()
	for _, opt := range optList {
		opt(&o)
	}
	// Run again whenever an app.json changes, so an edited extends applies live.
	discover := func() ([]runtime.Layer, elements.Problems, error) {
		layers, probs, err := runtime.DiscoverLayers(fsys, appPath, dir, runtime.WithAppsDir(o.appsDir))
		if err != nil {
			return nil, probs, err
		}
		return append(layers, runtime.Layer{Name: "builtin", FS: auths.Builtin()}), probs, nil
	}
	layers, probs, err := discover()
	if err != nil {
		return nil, fmt.Errorf("opening app: %w", err)
	}

	a := &App{opts: o}
	// Undo what was opened if a later step fails, as Caddy does on a failed
	// provision.
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if !o.noDB {
		if err := a.openDatabase(ctx, appPath, dir); err != nil {
			return nil, err
		}
	}
	a.metrics = newMetrics(a.db, time.Now)
	if o.dev {
		a.opts.runtimeOpts = append(a.opts.runtimeOpts, a.startSimulator()...)
	}
	rtOpts := []runtime.Option{
		runtime.WithHost(elements.NewHost(o.logger, elements.Provide(a.db), elements.Provide(o.httpClient),
			elements.Provide(a.sealer), elements.Provide(a.metrics.observeUpstream))),
		runtime.WithLogger(o.logger),
		runtime.WithDiscover(discover),
		runtime.WithLookupEnv(a.opts.lookupEnv),
	}
	rtOpts = append(rtOpts, a.opts.runtimeOpts...)
	if a.rt, err = runtime.New(ctx, layers, probs, rtOpts...); err != nil {
		return nil, err
	}
	a.syncSimulator()
	if o.reload && dir != "" {
		hook := runtime.WithReloadHook(func(err error) {
			a.lastReloadFailed.Store(err != nil)
			a.metrics.observeReload(err != nil || a.Problems().HasErrors())
			a.syncSimulator()
			if o.reloadHook != nil {
				o.reloadHook(err)
			}
		})
		if a.watcher, err = a.rt.Watch(ctx, append(o.watchOpts, hook)...); err != nil {
			return nil, fmt.Errorf("watching %s: %w", dir, err)
		}
	}
	a.handler, err = a.buildHandler()
	if err != nil {
		return nil, err
	}
	if dsn := a.listenDSN(); dsn != "" {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := models.Listen(lctx, dsn, auths.QRNotifyChannel, a.auth.Store().WakeTicket, a.opts.logger)
		a.stopListen = func() { cancel(); <-done }
	}
	return a, nil
}

func (a *App) openDatabase(ctx context.Context, appPath, dir string) error {
	dsn := a.opts.dsn
	if dsn == "" {
		path, err := defaultDatabasePath(appPath, dir)
		if err != nil {
			return err
		}
		dsn = path
	}
	db, err := models.Open(ctx, dsn, models.WithLogger(a.opts.logger))
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	a.db = db
	if !strings.Contains(dsn, "://") {
		a.dbPath = dsn
	}
	if err := models.Migrate(ctx, db); err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	// Replicas must accept each other's browser binding cookies.
	if a.bindingKey, err = models.SharedKey(ctx, db, "browser-binding"); err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	// A login's writes are single statements, so gorm's implicit transaction
	// around each one only adds a BEGIN and a COMMIT; SQLite also gains from
	// reusing prepared statements (pgx caches PostgreSQL's itself).
	db = db.Session(&gorm.Session{SkipDefaultTransaction: true, PrepareStmt: a.dbPath != ""})
	a.db = db
	// Replicas share tokens through the database, so they must share the
	// key too: it comes from the environment, and a mismatch stops startup.
	if key, ok := a.opts.lookupEnv("JIT_SECRET_KEY"); ok && key != "" {
		c, err := models.NewTokenCipher(key)
		if err != nil {
			return fmt.Errorf("JIT_SECRET_KEY: %w", err)
		}
		if err := models.VerifyKey(ctx, db, c); err != nil {
			return fmt.Errorf("JIT_SECRET_KEY: %w", err)
		}
		a.sealer = c
	} else if err := models.RefuseWithoutKey(ctx, db); err != nil {
		return fmt.Errorf("JIT_SECRET_KEY: %w", err)
	}
	return nil
}

// defaultDatabasePath keeps the SQLite file in the user's cache folder, one
// per app folder, so a first run needs no setup and never writes into the
// app (which may be read-only, or watched).
func defaultDatabasePath(appPath, dir string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	key := appPath
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			key = abs
		}
	}
	sum := sha256.Sum256([]byte(key))
	name := filepath.Base(key)
	if name == "." || name == "/" {
		name = "app"
	}
	return filepath.Join(base, "jit", name+"-"+hex.EncodeToString(sum[:4]), "jit.db"), nil
}

// GetElement returns the live element of a full name: a built instance
// (e.g. *wechatpublic.Login), a sub-element such as the instance's
// *services.WechatPublicAuthSvc, or the *elements.Definition of a Meta, Type
// or inert element. An unknown name gives a *NotFoundError (matching
// ErrElementNotFound); an element that exists but is broken, or a
// sub-element of one, gives a *BrokenError (matching ErrElementBroken). An
// element serving its last good version is returned as usual; Problems
// says what is wrong with its files now.
func (a *App) GetElement(fullName string) (any, error) {
	snap := a.rt.Snapshot()
	if e, ok := snap.Get(fullName); ok {
		return e.Object, nil
	}
	if b := brokenOwner(snap, fullName); b != nil {
		return nil, &BrokenError{Name: fullName, Element: b.FullName, Problems: b.Problems}
	}
	return nil, &NotFoundError{Name: fullName, Closest: snap.Suggest(fullName, 3)}
}

// brokenOwner is the broken element of name, or of the nearest enclosing
// name (a broken instance has none of its sub-elements either).
func brokenOwner(snap *runtime.Snapshot, name string) *runtime.Broken {
	for n := name; n != ""; {
		if b, ok := snap.Broken(n); ok {
			return b
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return nil
}

// Lookup is GetElement without the search for close names, for paths where
// the name comes from a request and a miss must stay cheap.
func (a *App) Lookup(fullName string) (any, bool) {
	e, ok := a.rt.Snapshot().Get(fullName)
	if !ok {
		return nil, false
	}
	return e.Object, true
}

// Snapshot is the current immutable registry, for listing elements.
func (a *App) Snapshot() *runtime.Snapshot { return a.rt.Snapshot() }

// Problems are the findings about the app as it is on disk now: errors
// (the element is skipped or its last good version stays live), warnings
// and notices. Open logs each of them once, and a reload each new one.
func (a *App) Problems() elements.Problems { return a.rt.Snapshot().Problems() }

// Layers lists where elements come from, in lookup order.
func (a *App) Layers() []runtime.Layer { return a.rt.Layers() }

// DB is the App's database.
func (a *App) DB() *gorm.DB { return a.db }

// DatabasePath is the SQLite file in use, empty for PostgreSQL.
func (a *App) DatabasePath() string { return a.dbPath }

// Handler serves the app over HTTP; see the README for its routes.
func (a *App) Handler() http.Handler { return a.handler }

// Close stops watching, cleans up elements and closes the database.
func (a *App) Close() error {
	var errs []error
	if a.stopListen != nil {
		a.stopListen()
	}
	if a.watcher != nil {
		errs = append(errs, a.watcher.Close())
	}
	if a.rt != nil {
		errs = append(errs, a.rt.Close())
	}
	a.opts.httpClient.CloseIdleConnections()
	if a.db != nil {
		if sqlDB, err := a.db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// listenDSN is the PostgreSQL URL to LISTEN on, empty on SQLite.
func (a *App) listenDSN() string {
	if a.db == nil || a.db.Dialector.Name() != "postgres" {
		return ""
	}
	return a.opts.dsn
}

// title is the app's title (app.json "title"), for pages that name it.
func (a *App) title() string {
	if ls := a.rt.Layers(); len(ls) > 0 { // the app's own app.json
		if raw, err := elements.ReadFile(ls[0].FS, runtime.AppFile); err == nil {
			if raw, err = elements.CheckJSON(raw); err == nil {
				if t := gjson.GetBytes(raw, "title").String(); t != "" {
					return t
				}
			}
		}
	}
	return "本应用"
}
