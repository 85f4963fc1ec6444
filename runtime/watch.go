package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/jitwx/jit/elements"
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
// system's inotify limits were reached) are polled instead, and how often
// each layer folder is checked for having been replaced (default 2s).
func WithPollInterval(d time.Duration) WatchOption {
	return func(o *watchOptions) { o.pollInterval = d }
}

// WithReloadHook is called after every reload the watcher triggers; edits
// that touch no element trigger none.
func WithReloadHook(f func(error)) WatchOption { return func(o *watchOptions) { o.onReload = f } }

// Watcher feeds file-system events of the on-disk layers into Reload.
type Watcher struct {
	rt     *Runtime
	fsw    *fsnotify.Watcher // nil when the system has no inotify instance left: everything is polled
	opts   watchOptions
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	// Touched by the loop goroutine only.
	roots      map[string]int         // absolute layer folder → layer index
	gen        uint64                 // the runtime's rules generation roots are of
	synced     bool                   // roots were read once
	rootInfo   map[string]os.FileInfo // what each layer folder named when last read; nil while missing
	parents    map[string]bool        // folders holding a layer folder, watched to see it replaced
	polled     map[string]uint64      // folders without a watch → signature of their entries
	inode      map[string]os.FileInfo // each watched folder as it was when its watch was added
	names      map[string][]string    // folder identity → the watched paths that reach it
	warnedPoll bool
	warnedMax  bool
}

// ErrWatcherStuck is returned by Close when a reload did not finish in
// time: it is left behind so that shutdown is never held up by it.
var ErrWatcherStuck = errors.New("a reload is still running; not waiting for it")

// Watch starts watching every folder of every on-disk layer that a scan
// reads; the folders the scan skips are not watched. fsnotify is not
// recursive, so each folder gets its own watch, and the watches follow the
// folders as they are created, renamed and removed. A layer folder that is
// replaced (mv and copy, rm -rf and clone, a swapped symlink, its parent
// replaced) is noticed through its parent's watch and a periodic check.
// Where the system's inotify limits are reached the watcher polls instead,
// with one warning; it never refuses to start. Embedded and in-memory
// layers are not watched.
func (rt *Runtime) Watch(ctx context.Context, opts ...WatchOption) (*Watcher, error) {
	o := watchOptions{debounce: 100 * time.Millisecond, maxWait: 2 * time.Second, pollInterval: 2 * time.Second, closeWait: 3 * time.Second,
		addWatch: func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) }, newWatcher: fsnotify.NewWatcher}
	for _, opt := range opts {
		opt(&o)
	}
	w := &Watcher{rt: rt, opts: o, done: make(chan struct{}), roots: map[string]int{}, rootInfo: map[string]os.FileInfo{},
		parents: map[string]bool{}, polled: map[string]uint64{}, inode: map[string]os.FileInfo{}, names: map[string][]string{}}
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
// when an edited app.json extends other parents, through this watcher or
// a direct Reload) and forgets the others. It reports whether they
// changed. A layer folder's parent is watched too, to see it replaced.
func (w *Watcher) syncRoots() bool {
	if w.synced && w.rt.rulesGen.Load() == w.gen {
		return false
	}
	now, gen := w.rt.diskLayers()
	old := w.roots
	w.roots, w.gen, w.synced = now, gen, true
	for root := range old {
		if _, ok := now[root]; !ok {
			w.forget(root)
			delete(w.rootInfo, root)
		}
	}
	parents := map[string]bool{}
	for root := range now {
		parents[filepath.Dir(root)] = true
	}
	if w.fsw != nil {
		for dir := range w.parents {
			if !parents[dir] && !w.inside(dir) {
				_ = w.fsw.Remove(dir)
			}
		}
		for dir := range parents {
			if !w.parents[dir] {
				if err := w.fsw.Add(dir); err != nil {
					w.rt.opts.logger.Warn("cannot watch the folder holding the app; a replaced app folder is noticed by a periodic check only",
						"folder", dir, "error", err)
				}
			}
		}
	}
	w.parents = parents
	all := map[string]bool{}
	for root := range now {
		if _, ok := old[root]; !ok {
			w.rootInfo[root], _ = os.Stat(root)
		}
		all[root] = true
	}
	w.reconcile(all)
	return true
}

// inside reports whether a folder is at or below a layer folder.
func (w *Watcher) inside(dir string) bool {
	_, _, ok := w.rootOf(dir)
	return ok
}

// track remembers a watched folder's identity: inotify has one watch per
// folder, whose events carry one of the paths that reach it, so events are
// passed on to the others (two links to one folder).
func (w *Watcher) track(p string) {
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	w.inode[p] = fi
	if id := folderID(fi); id != "" {
		w.names[id] = append(w.names[id], p)
	}
}

func (w *Watcher) untrack(p string) {
	if fi, ok := w.inode[p]; ok {
		if id := folderID(fi); id != "" {
			if rest := slices.DeleteFunc(w.names[id], func(q string) bool { return q == p }); len(rest) > 0 {
				w.names[id] = rest
			} else {
				delete(w.names, id)
			}
		}
	}
	delete(w.inode, p)
}

// aliases returns the other paths of an event's path: the same entry
// reached through the other paths of its folder.
func (w *Watcher) aliases(name string) []string {
	dir, base := filepath.Dir(name), filepath.Base(name)
	fi, ok := w.inode[dir]
	if !ok {
		return nil
	}
	var out []string
	for _, q := range w.names[folderID(fi)] {
		if q != dir {
			out = append(out, filepath.Join(q, base))
		}
	}
	return out
}

// rootOf returns the layer folder an on-disk path belongs to: the longest
// one that holds it, since a parent app may live inside its child's folder.
func (w *Watcher) rootOf(p string) (string, int, bool) {
	best, idx := "", -1
	for root, i := range w.roots {
		if within(p, root) && len(root) > len(best) {
			best, idx = root, i
		}
	}
	return best, idx, idx >= 0
}

// rootsOf lists every layer folder that holds p: a folder read by two
// layers (a parent app inside its child's folder) changes both.
func (w *Watcher) rootsOf(p string) map[string]int {
	out := map[string]int{}
	for root, i := range w.roots {
		if within(p, root) {
			out[root] = i
		}
	}
	return out
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// forget drops the watches and polling at and below dir that belong to
// dir's layer (a layer nested inside keeps its own).
func (w *Watcher) forget(dir string) {
	root, _, _ := w.rootOf(dir)
	mine := func(p string) bool {
		r, _, ok := w.rootOf(p)
		return within(p, dir) && (!ok || r == root)
	}
	if w.fsw != nil {
		for _, p := range w.fsw.WatchList() {
			if w.parents[p] && within(p, dir) {
				_ = w.fsw.Add(p) // re-resolve the path: the folder there is another one now
				w.untrack(p)
			} else if mine(p) && !w.parents[p] {
				_ = w.fsw.Remove(p)
				w.untrack(p)
			}
		}
	}
	for p := range w.polled {
		if mine(p) {
			delete(w.polled, p)
		}
	}
}

// reconcile makes the watches at and below each target folder match what
// a scan reads there now. Stale ones (a folder renamed, removed, now
// skipped, or another folder now at its path) are dropped first, since
// inotify keeps one watch per folder and a moved folder's watch still
// carries its old name; then the missing ones are added, or polled when
// the kernel refuses.
func (w *Watcher) reconcile(targets map[string]bool) {
	want := map[string]bool{}
	targetRoot := map[string]string{}
	for _, dir := range slices.Sorted(maps.Keys(targets)) {
		if root, i, ok := w.rootOf(dir); ok {
			targetRoot[dir] = root
			w.desired(i, root, dir, want)
		}
	}
	var have []string
	if w.fsw != nil {
		have = w.fsw.WatchList()
	}
	have = append(have, slices.Collect(maps.Keys(w.polled))...)
	watched := map[string]bool{}
	drop := func(p string) {
		if _, isPolled := w.polled[p]; isPolled {
			delete(w.polled, p)
		} else {
			_ = w.fsw.Remove(p)
			w.untrack(p)
		}
		delete(watched, p)
	}
	for _, p := range have {
		if w.parents[p] && (!w.inside(p) || !want[p]) {
			continue
		}
		watched[p] = true
		if want[p] {
			if before, ok := w.inode[p]; ok {
				if now, err := os.Stat(p); err != nil || !os.SameFile(before, now) {
					drop(p) // another folder is at this path now
				}
			}
			continue
		}
		// Only watches under a target, of the target's layer, are ours to drop.
		for a := p; ; a = filepath.Dir(a) {
			if tr, ok := targetRoot[a]; ok {
				if r, _, _ := w.rootOf(p); r == tr {
					drop(p)
				}
				break
			}
			if filepath.Dir(a) == a {
				break
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if watched[p] {
			continue
		}
		if len(watched) >= maxFolders {
			if !w.warnedMax {
				w.warnedMax = true
				w.rt.opts.logger.Warn(fmt.Sprintf("more than %d folders to watch; the rest are not watched", maxFolders), "folder", p)
			}
			return
		}
		watched[p] = true
		err := w.opts.addWatch(w.fsw, p)
		switch {
		case err == nil:
			w.track(p)
		case errors.Is(err, fsnotify.ErrClosed):
			return // closing
		case !errors.Is(err, fs.ErrNotExist):
			w.poll(p, err)
		}
	}
}

// desired adds to want the folders at and below dir that a scan of layer
// i reads, by the same rules: skipped folders are left out, and a
// symlinked folder is followed unless it leads back up the tree or to a
// folder of the layer read under its own name. A layer nested inside is
// left to its own reconcile.
func (w *Watcher) desired(i int, root, dir string, want map[string]bool) {
	l, rules, ok := w.rt.layerAt(i)
	if !ok {
		return
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return
	}
	if dir != root && skipsPath(l.FS, rules, w.rel(root, dir)) {
		return
	}
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return
	}
	dirReal, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return
	}
	var ancestors []string // real folders from the root down to the one walked
	for p := dir; within(p, root); p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			ancestors = append(ancestors, r)
		}
		if p == root {
			break
		}
	}
	var walk func(p, real string, ancestors []string)
	walk = func(p, real string, ancestors []string) {
		if len(want) >= maxFolders {
			return
		}
		want[p] = true
		entries, err := os.ReadDir(p)
		if err != nil {
			return
		}
		rel := w.rel(root, p)
		inElement := isElementDir(l.FS, rel)
		ancestors = append(ancestors, real)
		for _, e := range entries {
			child := filepath.Join(p, e.Name())
			childReal := filepath.Join(real, e.Name())
			if e.Type()&fs.ModeSymlink != 0 {
				fi, err := os.Stat(child)
				if err != nil || !fi.IsDir() {
					continue
				}
				if childReal, err = filepath.EvalSymlinks(child); err != nil {
					continue
				}
			} else if !e.IsDir() {
				continue
			}
			if _, nested := w.roots[child]; nested || rules.skips(w.rel(root, child), inElement) {
				continue
			}
			if childReal != filepath.Join(rootReal, w.rel(root, child)) {
				// As the scan: not round a loop, and not a second name
				// for a folder read under its own.
				if slices.Contains(ancestors, childReal) {
					continue
				}
				if r, err := filepath.Rel(rootReal, childReal); err == nil && !strings.HasPrefix(r, "..") && r != "." &&
					!skipsPath(l.FS, rules, filepath.ToSlash(r)) {
					continue
				}
			}
			walk(child, childReal, ancestors)
		}
	}
	walk(dir, dirReal, ancestors[min(1, len(ancestors)):])
}

// rel is a folder's layer-relative, slash-separated path ("" for the root).
func (w *Watcher) rel(root, p string) string {
	if p == root {
		return ""
	}
	return filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
}

// removalGrace delays a reload after a top-level folder of an app is
// removed; see loop.
const removalGrace = time.Second

// maxPolled bounds the folders read on every poll.
const maxPolled = 10_000

// poll puts a folder that could not get a watch on the polling list.
func (w *Watcher) poll(dir string, err error) {
	if !w.warnedPoll {
		w.warnedPoll = true
		w.rt.opts.logger.Warn("cannot watch every folder (raise fs.inotify.max_user_watches); polling the rest",
			"folder", dir, "error", err, "interval", w.opts.pollInterval)
	}
	if len(w.polled) >= maxPolled {
		if !w.warnedMax {
			w.warnedMax = true
			w.rt.opts.logger.Warn(fmt.Sprintf("more than %d folders to poll; the rest are not watched", maxPolled), "folder", dir)
		}
		return
	}
	w.polled[dir] = folderSignature(dir)
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
	targets := map[string]bool{} // folders whose watches to reconcile before the next reload
	var quiet, deadline <-chan time.Time
	var graceUntil, firstPending time.Time
	add := func(c Change) {
		pending[c] = true
		quiet = time.After(max(w.opts.debounce, time.Until(graceUntil)))
		if deadline == nil {
			firstPending = time.Now()
			deadline = time.After(w.opts.maxWait)
		}
	}
	refresh := func() {
		// The layers changed (an extends edit, here or through a direct
		// Reload): watch what is read now, then read it all once more,
		// since what changed before its watch was in place sent no event.
		if w.syncRoots() {
			for _, i := range w.roots {
				add(Change{Layer: i, Path: ""})
			}
		}
	}
	event := func(ev fsnotify.Event) {
		refresh()
		name := absClean(ev.Name)
		for _, n := range append([]string{name}, w.aliases(name)...) {
			_, wasDir := w.inode[n]
			if _, polled := w.polled[n]; polled {
				wasDir = true
			}
			changes, target := w.change(fsnotify.Event{Name: n, Op: ev.Op})
			for _, c := range changes {
				if ev.Has(fsnotify.Remove) && wasDir && c.Path != "" && !strings.Contains(c.Path, "/") {
					// A top-level folder removed may be rm -rf of the
					// whole app (a deploy): give it time to reach the app
					// folder, so the reload sees the folder missing and
					// keeps the last good elements, rather than removing
					// them one folder at a time.
					graceUntil = time.Now().Add(removalGrace)
					if deadline == nil {
						firstPending = time.Now()
					}
					// Bounded by the first pending change: a top-level
					// file removed over and over must not put reloads off
					// forever.
					deadline = time.After(time.Until(firstPending.Add(w.opts.maxWait + removalGrace)))
				}
				add(c)
			}
			if target != "" {
				targets[target] = true
			}
		}
	}
	flush := func() {
		changes := slices.Collect(maps.Keys(pending))
		clear(pending)
		quiet, deadline = nil, nil
		// Watches first, then the scan: what changes in between is seen
		// by both, never by neither.
		refresh()
		w.reconcile(targets)
		clear(targets)
		ran, err := w.rt.reload(ctx, changes)
		refresh()
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
			event(ev)
		case err, ok := <-errs:
			if !ok {
				return
			}
			// An overflowed queue loses events: re-read everything.
			w.rt.opts.logger.Warn("file watcher error; rescanning the app", "error", err)
			for root, i := range w.roots {
				add(Change{Layer: i, Path: ""})
				targets[root] = true
			}
		case <-pollTick.C:
			refresh()
			if w.rt.discoveryIncomplete() {
				// A missing parent may be there now. Not a burst to wait
				// out: a pending debounce is not restarted for it.
				pending[Change{Layer: 0, Path: AppFile}] = true
				if quiet == nil {
					quiet = time.After(w.opts.debounce)
				}
			}
			for root, before := range w.rootInfo {
				now, _ := os.Stat(root)
				if (now == nil) != (before == nil) || now != nil && !os.SameFile(now, before) {
					event(fsnotify.Event{Name: root, Op: fsnotify.Create})
				}
			}
			for _, dir := range slices.Sorted(maps.Keys(w.polled)) {
				sig := folderSignature(dir)
				if sig == w.polled[dir] {
					continue
				}
				w.polled[dir] = sig
				event(fsnotify.Event{Name: dir, Op: fsnotify.Create})
			}
		case <-quiet:
			flush()
		case <-deadline:
			flush()
		}
	}
}

// change maps an event to layer-relative changes (one per layer that
// reads the path), and names the folder whose watches it may have changed
// ("" for none). Whether a change matters to an element is Reload's
// question.
func (w *Watcher) change(ev fsnotify.Event) ([]Change, string) {
	name := absClean(ev.Name)
	if i, ok := w.roots[name]; ok {
		// The layer folder itself came or went (a deploy replaced it, or a
		// symlink to it was swapped): the old folder's watches name the
		// new one's paths but watch the old folders, so they all go; then
		// everything is read again, app.json first.
		w.forget(name)
		w.rootInfo[name], _ = os.Stat(name)
		if w.fsw != nil {
			_ = w.fsw.Add(filepath.Dir(name)) // its parent may be new too
		}
		out := []Change{{Layer: i, Path: ""}}
		for root, j := range w.rootsOf(name) {
			if root != name {
				out = append(out, Change{Layer: j, Path: w.rel(root, name)})
			}
		}
		return out, name
	}
	target := ""
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(base, ".."):
		// A ConfigMap swaps its ..data link: the folder holding it changed.
		name = filepath.Dir(name)
		target = name
	case strings.HasPrefix(base, "."):
		return nil, "" // editor temp files and hidden folders; the save itself is an event too
	case base == elements.ElementFile:
		// The folder became or stopped being an element: its frontend/
		// and backend/ are now read, or no longer.
		target = filepath.Dir(name)
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		target = name // a folder that went, or a file: reconcile finds which
	case ev.Has(fsnotify.Create):
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			target = name
		}
	}
	var out []Change
	for root, i := range w.rootsOf(name) {
		out = append(out, Change{Layer: i, Path: w.rel(root, name)})
	}
	return out, target
}

// absClean makes an event's path absolute, as the layer folders are.
func absClean(name string) string {
	if !filepath.IsAbs(name) {
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	return filepath.Clean(name)
}
