package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOption configures Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	debounce     time.Duration
	maxWait      time.Duration
	pollInterval time.Duration
	closeWait    time.Duration
	onReload     func(error)
	addWatch     func(w *fsnotify.Watcher, dir string) error // tests stand in for the kernel's limits
	newWatcher   func() (*fsnotify.Watcher, error)
}

// WithDebounce sets how long the watcher waits for a burst of events to end
// (default 100ms) and the longest it lets a continuous burst delay a reload
// (default 2s).
func WithDebounce(quiet, maxWait time.Duration) WatchOption {
	return func(o *watchOptions) { o.debounce, o.maxWait = quiet, maxWait }
}

// WithPollInterval sets how often folders that could not get a watch (the
// system's inotify limit was reached) are polled instead (default 2s).
func WithPollInterval(d time.Duration) WatchOption {
	return func(o *watchOptions) { o.pollInterval = d }
}

// WithReloadHook is called after every reload the watcher triggers; edits
// that touch no element trigger none.
func WithReloadHook(f func(error)) WatchOption { return func(o *watchOptions) { o.onReload = f } }

// Watcher feeds file-system events of the on-disk layers into Reload.
type Watcher struct {
	rt     *Runtime
	fsw    *fsnotify.Watcher
	opts   watchOptions
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	// Touched by the loop goroutine only.
	roots      map[string]int    // cleaned layer folder → layer index
	polled     map[string]uint64 // folders without a watch → signature of their entries
	warnedPoll bool
}

// ErrWatcherStuck is returned by Close when a reload did not finish in
// time: it is left behind so that shutdown is never held up by it.
var ErrWatcherStuck = errors.New("a reload is still running; not waiting for it")

// Watch starts watching every folder of every on-disk layer that a scan
// reads; the folders the scan skips are not watched. fsnotify is not
// recursive, so each folder gets its own watch and new folders are added as
// they appear. A layer folder's parent is watched too, so a folder replaced
// by a deploy is noticed. Where the system's watch limit is reached the
// watcher polls instead, with one warning; it never refuses to start.
// Embedded and in-memory layers are not watched.
func (rt *Runtime) Watch(ctx context.Context, opts ...WatchOption) (*Watcher, error) {
	o := watchOptions{debounce: 100 * time.Millisecond, maxWait: 2 * time.Second, pollInterval: 2 * time.Second, closeWait: 3 * time.Second,
		addWatch: func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) }, newWatcher: fsnotify.NewWatcher}
	for _, opt := range opts {
		opt(&o)
	}
	w := &Watcher{rt: rt, opts: o, done: make(chan struct{}), roots: map[string]int{}, polled: map[string]uint64{}}
	fsw, err := o.newWatcher()
	if err != nil {
		// Out of inotify instances (fs.inotify.max_user_instances): poll
		// everything rather than refuse to start.
		rt.opts.logger.Warn("cannot use inotify (raise fs.inotify.max_user_instances); polling every folder",
			"error", err, "interval", o.pollInterval)
		w.warnedPoll = true
		w.opts.addWatch = func(*fsnotify.Watcher, string) error { return err }
	}
	w.fsw = fsw
	w.syncRoots()
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.loop(ctx)
	return w, nil
}

// Close stops the watcher and waits a short while for an in-flight reload
// to finish; a reload stuck in an element's own code is left behind
// (ErrWatcherStuck) so that shutdown always completes.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		w.cancel()
		if w.fsw != nil {
			err = w.fsw.Close()
		}
		select {
		case <-w.done:
		case <-time.After(w.opts.closeWait):
			err = ErrWatcherStuck
		}
	})
	return err
}

// syncRoots watches the on-disk layers the runtime has now (they change
// when an edited app.json extends other parents) and forgets the others.
// A layer folder's parent is watched too, to see the folder replaced.
func (w *Watcher) syncRoots() {
	now := w.rt.diskLayers()
	for root := range w.roots {
		if _, ok := now[root]; !ok {
			w.unwatchTree(root)
		}
	}
	for root, i := range now {
		if _, ok := w.roots[root]; ok {
			continue
		}
		if w.fsw == nil {
			// Polled instead: the root's signature changes when it is replaced.
		} else if err := w.fsw.Add(filepath.Dir(root)); err != nil {
			w.rt.opts.logger.Warn("cannot watch the folder holding the app; a replaced app folder will not be noticed",
				"folder", filepath.Dir(root), "error", err)
		}
		w.addTree(i, root)
	}
	w.roots = now
}

// addTree watches dir and the folders below it that a scan reads, through
// symlinked folders as the scan does. A folder that cannot get a watch is
// polled instead.
func (w *Watcher) addTree(layer int, dir string) {
	l, rules := w.rt.layerAt(layer)
	t := &treeWatch{w: w, root: filepath.Clean(l.Dir), fsys: l.FS, rules: rules, seen: map[string]bool{}}
	t.walk(filepath.Clean(dir))
}

type treeWatch struct {
	w     *Watcher
	root  string
	fsys  fs.FS
	rules folderRules
	seen  map[string]bool // real folders watched, so a symlink loop ends
}

func (t *treeWatch) walk(dir string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || t.seen[real] {
		return // removed, or a loop: the scan reports it
	}
	t.seen[real] = true
	// The trailing separator makes WalkDir follow a symlinked folder
	// (current -> release-2) while the names stay under the link.
	_ = filepath.WalkDir(dir+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
		p = filepath.Clean(p)
		if err != nil {
			return nil // removed while we walked, or unreadable: the scan reports it
		}
		if p != dir {
			// A folder reached under two names has one inotify watch,
			// whose events carry one name: the first one walked.
			pReal := filepath.Join(real, strings.TrimPrefix(p, dir))
			if t.seen[pReal] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			link := d.Type()&fs.ModeSymlink != 0
			if link {
				if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
					return nil
				}
			} else if !d.IsDir() {
				return nil
			}
			if t.skips(p) {
				if link {
					return nil // SkipDir on a file entry would skip its siblings
				}
				return filepath.SkipDir
			}
			if link {
				t.walk(p)
				return nil
			}
			t.seen[pReal] = true
		}
		if err := t.w.opts.addWatch(t.w.fsw, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.w.poll(p, err)
		}
		return nil
	})
}

// skips asks the scan's rules about a folder below the layer root.
func (t *treeWatch) skips(p string) bool {
	if p == t.root {
		return false
	}
	rel := filepath.ToSlash(strings.TrimPrefix(p, t.root+string(filepath.Separator)))
	parent := path.Dir(rel)
	if parent == "." {
		parent = ""
	}
	return t.rules.skips(rel, parent != "" && isElementDir(t.fsys, parent))
}

// poll puts a folder that could not get a watch on the polling list.
func (w *Watcher) poll(dir string, err error) {
	if !w.warnedPoll {
		w.warnedPoll = true
		w.rt.opts.logger.Warn("cannot watch every folder (raise fs.inotify.max_user_watches); polling the rest",
			"folder", dir, "error", err, "interval", w.opts.pollInterval)
	}
	w.polled[dir] = folderSignature(dir)
}

// unwatchTree drops the watches and polling of dir and everything below.
func (w *Watcher) unwatchTree(dir string) {
	inside := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) }
	if w.fsw != nil {
		for _, p := range w.fsw.WatchList() {
			if inside(p) {
				_ = w.fsw.Remove(p)
			}
		}
	}
	for p := range w.polled {
		if inside(p) {
			delete(w.polled, p)
		}
	}
}

// folderSignature sums up a folder's entries (names, kinds, sizes and
// times), so that polling notices an edit to any file in it; 0 when the
// folder cannot be read.
func folderSignature(dir string) uint64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	h := fnv.New64a()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), e.Type())
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(h, "%d\x00%d\x00", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return h.Sum64() | 1
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	pending := map[Change]bool{}
	var quiet, deadline <-chan time.Time
	add := func(c Change) {
		pending[c] = true
		quiet = time.After(w.opts.debounce)
		if deadline == nil {
			deadline = time.After(w.opts.maxWait)
		}
	}
	flush := func() {
		changes := make([]Change, 0, len(pending))
		for c := range pending {
			changes = append(changes, c)
		}
		clear(pending)
		quiet, deadline = nil, nil
		ran, err := w.rt.reload(ctx, changes)
		if slices.ContainsFunc(changes, func(c Change) bool { return c.Path == AppFile }) {
			// The layers or an ignore list may have changed: watch what
			// is read now, then read it all once more, since what changed
			// before its watch was in place sent no event.
			for root, i := range w.roots {
				w.unwatchTree(root)
				w.addTree(i, root)
			}
			w.syncRoots()
			for _, i := range w.roots {
				add(Change{Layer: i, Path: ""})
			}
		}
		if ran && w.opts.onReload != nil {
			w.opts.onReload(err)
		}
	}
	pollTick := time.NewTicker(w.opts.pollInterval)
	defer pollTick.Stop()
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fsw != nil {
		events, errs = w.fsw.Events, w.fsw.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if c, ok := w.change(ev); ok {
				add(c)
			}
		case err, ok := <-errs:
			if !ok {
				return
			}
			// An overflowed queue loses events: re-read everything.
			w.rt.opts.logger.Warn("file watcher error; rescanning the app", "error", err)
			for _, i := range w.roots {
				add(Change{Layer: i, Path: ""})
			}
		case <-pollTick.C:
			for _, dir := range slices.Sorted(maps.Keys(w.polled)) {
				sig := folderSignature(dir)
				if sig == w.polled[dir] {
					continue
				}
				if _, root := w.roots[dir]; sig == 0 && !root {
					delete(w.polled, dir)
				} else {
					w.polled[dir] = sig
				}
				if c, ok := w.change(fsnotify.Event{Name: dir, Op: fsnotify.Create}); ok {
					add(c)
				}
			}
		case <-quiet:
			flush()
		case <-deadline:
			flush()
		}
	}
}

// change maps an event to a layer-relative change, adding watches for new
// folders on the way. Whether the change matters is Reload's question.
func (w *Watcher) change(ev fsnotify.Event) (Change, bool) {
	name := filepath.Clean(ev.Name)
	if i, ok := w.roots[name]; ok {
		// The layer folder itself came or went (a deploy replaced it, or a
		// symlink to it was swapped): forget the old folder's watches and
		// read whatever is there now.
		w.unwatchTree(name)
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			w.addTree(i, name)
		}
		if w.fsw == nil {
			w.polled[name] = folderSignature(name) // 0 while it is gone: polled until it is back
		}
		return Change{Layer: i, Path: ""}, true
	}
	for root, i := range w.roots {
		rel, err := filepath.Rel(root, name)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		rel = filepath.ToSlash(rel)
		base := filepath.Base(rel)
		switch {
		case strings.HasPrefix(base, ".."):
			// A ConfigMap swaps its ..data link: the folder holding it changed.
			rel = filepath.ToSlash(filepath.Dir(rel))
		case strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~"):
			return Change{}, false // editor temp files; the save itself is an event too
		}
		if ev.Has(fsnotify.Create) {
			if fi, err := os.Stat(name); err == nil && fi.IsDir() {
				w.addTree(i, name)
			}
		}
		return Change{Layer: i, Path: rel}, true
	}
	return Change{}, false
}
