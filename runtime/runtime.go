package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jitwx/jit/elements"
)

// Option configures a Runtime.
type Option func(*options)

type options struct {
	registry  *elements.Registry
	host      *elements.Host
	lookupEnv func(string) (string, bool)
	patches   []Patch
	logger    *slog.Logger
	discover  func() ([]Layer, elements.Problems, error)
}

// Patch overrides config values of every instance whose Type chain includes
// Type, after {{VAR}} expansion and before validation, e.g. to point
// elements at a local simulator in dev mode.
type Patch struct {
	Type   string
	Values map[string]any
}

// WithRegistry selects the Go Type registry (default: elements.Default).
func WithRegistry(r *elements.Registry) Option { return func(o *options) { o.registry = r } }

// WithHost sets what built elements share: the logger and the resources
// (database, HTTP client, ...) their Provision finds in its elements.Context.
func WithHost(h *elements.Host) Option { return func(o *options) { o.host = h } }

// WithLookupEnv sets how {{VAR}} is resolved (default: os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = f }
}

// WithPatch adds a config override; see Patch.
func WithPatch(p Patch) Option { return func(o *options) { o.patches = append(o.patches, p) } }

// WithDiscover sets how the layers are found again when an app.json
// changes, so that an edited "extends" applies live; see DiscoverLayers.
// Without it, extends edits need a restart.
func WithDiscover(f func() ([]Layer, elements.Problems, error)) Option {
	return func(o *options) { o.discover = f }
}

// WithLogger sets the logger for reload outcomes.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Runtime owns the layers, the resolved elements and the published
// snapshot. Loads and reloads are serialised by mu; readers never take it.
type Runtime struct {
	opts   options
	mu     sync.Mutex
	layers []*layerState

	res        map[string]*resolution         // resolved kind and chain per full name
	entries    map[string]*Entry              // live entries, writer side
	declared   map[string]string              // full name → declared type of its effective definition
	dependents map[string]map[string]struct{} // declared type → names typed by it
	children   map[string][]string            // instance → its sub-element names
	buildProbs map[string]elements.Problems   // resolve/validate/build findings per name
	baseProbs  elements.Problems              // findings not tied to one element (app.json)
	inert      map[string]map[string]struct{} // unimplemented type → live inert elements of it
	inertOf    map[string]string              // live inert element → its unimplemented type
	// suggestMemo caches "did you mean" answers for one apply: a JitAi
	// export may reference one unimplemented type from hundreds of elements.
	suggestMemo map[string]string
	// probsChanged asks for a new snapshot even when no entry changed, so
	// a broken edit shows up in Problems while the old version stays live.
	probsChanged bool

	base    map[string]*Entry // shared with snapshots: never mutated after publish
	overlay map[string]*Entry
	cur     atomic.Pointer[Snapshot]
	// layerList is rt.layers for readers that must not wait for a reload.
	layerList atomic.Pointer[[]Layer]
	// rulesGen counts changes to the layers and their folder rules, so a
	// watcher knows to watch what is read now.
	rulesGen atomic.Uint64
	closed   bool
}

type layerState struct {
	Layer
	rules    folderRules
	appProbs elements.Problems // findings about its app.json's own keys
	missing  bool              // the folder is gone; its last good elements serve
	appJSON  []byte            // its app.json as last read, to log what an edit changed
	root     *node
	byName   map[string]*node // element folders only
	broken   map[string]elements.Problems
}

// node is one folder of a layer's tree. def is the last good definition
// read from it; probs are the findings of the latest read, which may be
// newer than def when the folder is broken now.
type node struct {
	def   *elements.Definition
	probs elements.Problems
	kids  map[string]*node
}

// New runs the first load of the given layers (lookup order: first wins).
// Broken elements are reported in the snapshot's Problems and skipped;
// New itself fails only when the context is done.
func New(ctx context.Context, layers []Layer, baseProbs elements.Problems, opts ...Option) (*Runtime, error) {
	o := options{registry: elements.Default, lookupEnv: os.LookupEnv, logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	rt := &Runtime{
		opts:       o,
		res:        map[string]*resolution{},
		entries:    map[string]*Entry{},
		declared:   map[string]string{},
		dependents: map[string]map[string]struct{}{},
		children:   map[string][]string{},
		buildProbs: map[string]elements.Problems{},
		baseProbs:  baseProbs,
		inert:      map[string]map[string]struct{}{},
		inertOf:    map[string]string{},
	}
	dirty := map[string]bool{}
	for _, l := range layers {
		ls := newLayerState(l)
		rt.layers = append(rt.layers, ls)
		for name := range ls.byName {
			dirty[name] = true
		}
	}
	rt.setLayers()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.apply(ctx, dirty); err != nil {
		return nil, err
	}
	return rt, nil
}

// Snapshot returns the current immutable view. It never blocks.
func (rt *Runtime) Snapshot() *Snapshot { return rt.cur.Load() }

// Layers returns the layers in lookup order. It never blocks.
func (rt *Runtime) Layers() []Layer { return slices.Clone(*rt.layerList.Load()) }

// setLayers publishes the layer list to Layers' readers.
func (rt *Runtime) setLayers() {
	out := make([]Layer, len(rt.layers))
	for i, l := range rt.layers {
		out[i] = l.Layer
	}
	rt.layerList.Store(&out)
}

// Close cleans up every built element. The last snapshot stays readable.
// A reload stuck in an element's own code is not waited for longer than a
// few seconds (ErrReloadStuck): shutdown must always complete.
func (rt *Runtime) Close() error {
	for start := time.Now(); !rt.mu.TryLock(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > closeWait {
			return ErrReloadStuck
		}
	}
	defer rt.mu.Unlock()
	if rt.closed {
		return nil
	}
	rt.closed = true
	var objs []any
	for _, e := range rt.entries {
		if e.Parent == "" && e.Kind == elements.KindInstance {
			objs = append(objs, e.Object)
		}
	}
	return cleanupAll(objs)
}

// closeWait bounds how long Close waits for a reload in progress.
const closeWait = 3 * time.Second

// ErrReloadStuck is returned by Close when a reload holds the runtime for
// longer than it waits; the elements are then left as they are.
var ErrReloadStuck = errors.New("a reload is still running; elements not cleaned up")

// layerAt returns a layer and its folder rules; ok is false when the
// layers changed and there is no layer i any more.
func (rt *Runtime) layerAt(i int) (_ Layer, _ folderRules, ok bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if i < 0 || i >= len(rt.layers) {
		return Layer{}, folderRules{}, false
	}
	return rt.layers[i].Layer, rt.layers[i].rules, true
}

// diskLayers maps the absolute folder of each on-disk layer to its index,
// as of the rules generation it returns.
func (rt *Runtime) diskLayers() (map[string]int, uint64) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := map[string]int{}
	for i, l := range rt.layers {
		if l.Dir != "" {
			abs, err := filepath.Abs(l.Dir)
			if err != nil {
				abs = filepath.Clean(l.Dir)
			}
			out[abs] = i
		}
	}
	return out, rt.rulesGen.Load()
}

// discoveryIncomplete reports whether the last discovery of the layers
// had errors (a parent app missing, say), so it is worth trying again.
func (rt *Runtime) discoveryIncomplete() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.opts.discover != nil && rt.baseProbs.HasErrors()
}

func cleanupAll(objs []any) error {
	var first error
	for _, o := range objs {
		if c, ok := o.(elements.CleanerUpper); ok {
			if err := c.Cleanup(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// newLayerState reads a layer: its app.json and every element folder.
func newLayerState(l Layer) *layerState {
	ls := &layerState{Layer: l, root: &node{}, byName: map[string]*node{}, broken: map[string]elements.Problems{}}
	ls.appJSON, _ = elements.ReadFile(l.FS, AppFile)
	ls.rules, ls.appProbs, _ = readRules(l)
	for _, s := range scanTree(l, ls.rules, "", nil) {
		ls.put(s)
	}
	return ls
}

// put stores one scanned folder in the tree. A broken read keeps the
// folder's last good definition.
func (ls *layerState) put(s scanned) *node {
	n := ls.root
	for _, seg := range strings.Split(s.dir, "/") {
		if n.kids == nil {
			n.kids = map[string]*node{}
		}
		k := n.kids[seg]
		if k == nil {
			k = &node{}
			n.kids[seg] = k
		}
		n = k
	}
	name := elements.FullNameOf(s.dir)
	if s.def != nil {
		n.def = s.def
	}
	n.probs = s.probs
	if len(s.probs) > 0 {
		ls.broken[name] = s.probs
	} else {
		delete(ls.broken, name)
	}
	ls.byName[name] = n
	return n
}

// detach removes the subtree at dir from the tree.
func (ls *layerState) detach(dir string) {
	if dir == "" {
		ls.root = &node{}
		return
	}
	parent := ls.root
	if pd := path.Dir(dir); pd != "." {
		parent = ls.lookupNode(pd)
	}
	if parent != nil {
		delete(parent.kids, path.Base(dir))
	}
}

// lookupNode finds the folder node of a layer-relative dir.
func (ls *layerState) lookupNode(dir string) *node {
	n := ls.root
	if dir == "" {
		return n
	}
	for _, seg := range strings.Split(dir, "/") {
		n = n.kids[seg]
		if n == nil {
			return nil
		}
	}
	return n
}

// effective returns the winning definition of a full name and its layer.
func (rt *Runtime) effective(name string) (*elements.Definition, int) {
	for i, ls := range rt.layers {
		if n := ls.byName[name]; n != nil && n.def != nil {
			return n.def, i
		}
	}
	return nil, -1
}

// brokenSomewhere reports whether some layer has a folder for name that
// cannot be read, so a reference to it is "broken", not "unknown".
func (rt *Runtime) brokenSomewhere(name string) bool {
	for _, ls := range rt.layers {
		if n := ls.byName[name]; n != nil && n.probs.HasErrors() {
			return true
		}
	}
	return false
}

// publish applies entry updates (nil removes) and swaps in a new snapshot.
func (rt *Runtime) publish(updates map[string]*Entry) {
	inertChanged := false
	for k, v := range updates {
		if t, ok := rt.inertOf[k]; ok {
			delete(rt.inertOf, k)
			if delete(rt.inert[t], k); len(rt.inert[t]) == 0 {
				delete(rt.inert, t)
			}
			inertChanged = true
		}
		if v == nil {
			delete(rt.entries, k)
			continue
		}
		rt.entries[k] = v
		if r := rt.res[k]; v.Kind == elements.KindInert && r != nil {
			rt.inertOf[k] = r.inertType
			if rt.inert[r.inertType] == nil {
				rt.inert[r.inertType] = map[string]struct{}{}
			}
			rt.inert[r.inertType][k] = struct{}{}
			inertChanged = true
		}
	}
	var gen uint64
	cur := rt.cur.Load()
	if cur != nil {
		gen = cur.gen + 1
	}
	// Problems are recomputed only when they may have changed: most
	// reloads touch a healthy element and must not cost the size of the app.
	var problems elements.Problems
	var broken map[string]*Broken
	if cur == nil || rt.probsChanged || inertChanged {
		problems = rt.collectProblems()
		var before elements.Problems
		if cur != nil {
			before = cur.problems
		}
		rt.logNew(before, problems)
	} else {
		problems = cur.problems
	}
	// Broken is "errors and no entry": it may also change when an update
	// adds or removes the entry of a name that has errors.
	if cur == nil || rt.probsChanged || inertChanged || (len(updates) > 0 && (len(cur.broken) > 0 || cur.problems.HasErrors())) {
		broken = rt.brokenOf(problems)
	} else {
		broken = cur.broken
	}
	// Fold the overlay into a fresh base once it is a sizeable fraction of
	// the app: the copy is then paid for by the reloads that grew it.
	if rt.base == nil || len(rt.overlay)+len(updates) > 64+len(rt.base)/16 {
		rt.base = maps.Clone(rt.entries)
		rt.overlay = nil
	} else if len(updates) > 0 {
		ov := make(map[string]*Entry, len(rt.overlay)+len(updates))
		maps.Copy(ov, rt.overlay)
		for k, v := range updates {
			if _, inBase := rt.base[k]; v == nil && !inBase {
				delete(ov, k)
				continue
			}
			ov[k] = v
		}
		rt.overlay = ov
	}
	var missing []string
	for _, ls := range rt.layers {
		if ls.missing {
			missing = append(missing, ls.Dir)
		}
	}
	rt.cur.Store(&Snapshot{base: rt.base, overlay: rt.overlay, problems: problems, broken: broken, missing: missing, gen: gen})
}

// brokenOf finds the elements that have errors and no live entry.
func (rt *Runtime) brokenOf(problems elements.Problems) map[string]*Broken {
	var out map[string]*Broken
	for _, p := range problems {
		if p.Severity != elements.SeverityError || p.Element == "" || rt.entries[p.Element] != nil {
			continue
		}
		b := out[p.Element]
		if b == nil {
			if out == nil {
				out = map[string]*Broken{}
			}
			b = &Broken{FullName: p.Element}
			if d, _ := rt.effective(p.Element); d != nil {
				b.Title, b.Type = d.Title, d.Type
			}
			out[p.Element] = b
		}
		b.Problems = append(b.Problems, p)
	}
	return out
}

// logNew logs each problem that was not in the previous snapshot, so the
// first load logs every problem once and a reload only what it found new.
func (rt *Runtime) logNew(before, now elements.Problems) {
	seen := make(map[elements.Problem]bool, len(before))
	for _, p := range before {
		seen[*p] = true
	}
	for _, p := range now {
		if seen[*p] {
			continue
		}
		seen[*p] = true // a problem found twice is still logged once
		attrs := []any{"problem", p.Error()}
		if p.Element != "" {
			attrs = append([]any{"element", p.Element}, attrs...)
		}
		switch {
		case p.Severity == elements.SeverityError && p.Element == "":
			rt.opts.logger.Error("app problem", attrs...)
		case p.Severity == elements.SeverityError && rt.entries[p.Element] != nil:
			rt.opts.logger.Error("element is broken; keeping its last good version", attrs...)
		case p.Severity == elements.SeverityError:
			rt.opts.logger.Error("element is broken; skipped", attrs...)
		case p.Severity == elements.SeverityWarning:
			rt.opts.logger.Warn("element warning", attrs...)
		default:
			rt.opts.logger.Info("element notice", attrs...)
		}
	}
}

func (rt *Runtime) collectProblems() elements.Problems {
	out := append(elements.Problems(nil), rt.baseProbs...)
	for _, ls := range rt.layers {
		out = append(out, ls.appProbs...)
		if ls.missing {
			out = append(out, elements.Errorf(ls.Dir, "", "folder is missing; its last good elements serve until it is back"))
		}
		for _, ps := range ls.broken {
			out = append(out, ps...)
		}
	}
	for _, ps := range rt.buildProbs {
		out = append(out, ps...)
	}
	out = append(out, rt.inertNotices()...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Msg < out[j].Msg
	})
	return out
}

// inertNotices reports each unimplemented type once, however many elements
// use it: a JitAi export may hold hundreds of pages.
func (rt *Runtime) inertNotices() elements.Problems {
	var out elements.Problems
	for t, names := range rt.inert {
		first := ""
		for name := range names {
			if first == "" || name < first {
				first = name
			}
		}
		file := ""
		if d, _ := rt.effective(first); d != nil {
			file = d.File(elements.ElementFile)
		}
		msg := fmt.Sprintf("no implementation in this runtime for type %s; %d element(s) kept inert (e.g. %s)", t, len(names), first)
		out = append(out, &elements.Problem{Severity: elements.SeverityNotice, Element: first, File: file, Field: "type", Msg: msg})
	}
	return out
}
