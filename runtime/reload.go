package runtime

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/jitwx/jit/elements"
)

// ErrClosed is returned by Reload after Close.
var ErrClosed = errors.New("runtime closed")

// Change names something that changed in one layer: a file or a folder,
// as a slash-separated path relative to the layer's root.
type Change struct {
	Layer int
	Path  string
}

// Reload re-reads only the element folders that the changes touch, then
// rebuilds those elements and everything typed by them, and publishes the
// result as one new snapshot. An element whose new files are broken keeps
// its last good version; the problems say why. Changes to files that are
// not part of an element (a package.json, Python code, anything in a
// skipped folder) are ignored.
func (rt *Runtime) Reload(ctx context.Context, changes []Change) error {
	_, err := rt.reload(ctx, changes)
	return err
}

// reload is Reload that also says whether anything changed, so the
// watcher reports only reloads that changed something.
func (rt *Runtime) reload(ctx context.Context, changes []Change) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return false, ErrClosed
	}
	// Checked before rescanning: a rescan updates the layer trees, and an
	// apply abandoned after that would leave those changes never built.
	if err := ctx.Err(); err != nil {
		return false, err
	}
	dirty := map[string]bool{}
	edits := rt.present(changes)
	// Element edits first, then app.json: a re-discovery may drop layers,
	// and the edits are held by layer, not by index, for that reason.
	for _, e := range edits {
		if e.path != AppFile && e.path != "" && rt.relevant(e.ls, e.path) {
			rt.rescan(e.ls, e.path, dirty)
		}
	}
	for _, e := range edits {
		if (e.path == AppFile || e.path == "") && slices.Contains(rt.layers, e.ls) {
			// A full read of a layer (its folder replaced, or events
			// lost) reads its app.json too.
			rescanned := rt.reloadAppFile(e.ls, dirty)
			if e.path == "" && !rescanned && slices.Contains(rt.layers, e.ls) {
				rt.rescan(e.ls, "", dirty)
			}
		}
	}
	// Nothing any element is made of changed: no reload to speak of.
	if len(dirty) == 0 && !rt.probsChanged {
		return false, nil
	}
	return true, rt.apply(ctx, dirty)
}

// edit is a change resolved to its layer's state and a clean path.
type edit struct {
	ls   *layerState
	path string
}

// present resolves the changes to their layers and drops those of layers
// whose folder is gone, marking them missing: a folder being replaced (mv,
// rm -rf and clone) must not take every element down with it, so the last
// good ones keep serving. A layer whose folder is back is read again in
// full.
func (rt *Runtime) present(changes []Change) []edit {
	var out []edit
	checked := map[int]bool{}
	for _, c := range changes {
		if c.Layer < 0 || c.Layer >= len(rt.layers) {
			continue
		}
		ls := rt.layers[c.Layer]
		p := path.Clean(c.Path)
		if p == "." || p == "/" {
			p = ""
		}
		if !checked[c.Layer] && ls.Dir != "" {
			checked[c.Layer] = true
			fi, err := os.Stat(ls.Dir)
			gone := err != nil || !fi.IsDir()
			if gone != ls.missing {
				ls.missing = gone
				rt.probsChanged = true
				if !gone {
					out = append(out, edit{ls, ""})
				}
			}
		}
		if !ls.missing {
			out = append(out, edit{ls, p})
		}
	}
	return out
}

// relevant reports whether a change at p can change what a scan reads: a
// folder (new, removed or renamed), an e.json, or a JSON file at the top of
// an element folder, outside the folders the rules skip.
func (rt *Runtime) relevant(ls *layerState, p string) bool {
	if p == "" {
		return true
	}
	fi, err := fs.Stat(ls.FS, p)
	if err == nil && fi.IsDir() || err != nil && ls.lookupNode(p) != nil {
		return !skipsPath(ls.FS, ls.rules, p)
	}
	dir, base := path.Dir(p), path.Base(p)
	if dir == "." {
		dir = ""
	}
	if dir != "" && skipsPath(ls.FS, ls.rules, dir) {
		return false
	}
	if base == elements.ElementFile {
		return true
	}
	if path.Ext(base) != ".json" || dir == "" {
		return false
	}
	n := ls.lookupNode(dir)
	return n != nil && (n.def != nil || n.probs != nil) || isElementDir(ls.FS, dir)
}

// reloadAppFile re-reads a layer's app.json and applies what changed: a
// new ignore list re-reads the layer, new extends re-discover the layers.
// One log line per save names the keys that changed. It reports whether it
// re-read the whole layer.
func (rt *Runtime) reloadAppFile(ls *layerState, dirty map[string]bool) (rescanned bool) {
	raw, _ := elements.ReadFile(ls.FS, AppFile)
	changed := changedKeys(ls.appJSON, raw)
	ls.appJSON = raw
	// An app.json that does not parse applies nothing: its ignore list
	// stays as it was (the syntax error is reported with the extends).
	if rules, probs, ok := readRules(ls.Layer); ok {
		if !sameProblems(ls.appProbs, probs) {
			ls.appProbs = probs
			rt.probsChanged = true
		}
		if !slices.Equal(rules.ignore, ls.rules.ignore) {
			ls.rules = rules
			rt.rulesGen.Add(1)
			rt.rescan(ls, "", dirty)
			rescanned = true
		}
	}
	if len(changed) == 0 {
		// Unchanged, but a parent it names may have appeared since.
		if ls == rt.layers[0] && rt.baseProbs.HasErrors() {
			if names, applied := rt.rediscover(dirty); applied && names != nil {
				rt.opts.logger.Info("extends: a parent app is there now", "file", elements.DisplayPath(ls.Name, AppFile), "layers", names)
			}
		}
		return rescanned
	}
	attrs := []any{"file", elements.DisplayPath(ls.Name, AppFile), "keys", changed}
	if slices.Contains(changed, "extends") || slices.Contains(changed, "(file)") {
		switch names, applied := rt.rediscover(dirty); {
		case !applied:
			attrs = append(attrs, "extends", "not applied: the app's app.json files have errors; keeping the parents loaded before")
		case names != nil:
			attrs = append(attrs, "layers", names)
		}
	}
	rt.opts.logger.Info("app.json changed", attrs...)
	return rescanned
}

// changedKeys lists the top-level keys whose values differ between two
// versions of a JSON object; "(file)" stands for the file as a whole when
// either version is missing, not valid JSON or not an object.
func changedKeys(before, after []byte) []string {
	if bytes.Equal(before, after) {
		return nil
	}
	b, a := gjson.ParseBytes(before), gjson.ParseBytes(after)
	if !gjson.ValidBytes(before) || !gjson.ValidBytes(after) || !b.IsObject() || !a.IsObject() {
		return []string{"(file)"}
	}
	var out []string
	seen := map[string]bool{}
	diff := func(x, y gjson.Result) {
		x.ForEach(func(k, v gjson.Result) bool {
			if key := k.String(); !seen[key] {
				seen[key] = true
				if w := y.Get(gjson.Escape(key)); !w.Exists() || w.Raw != v.Raw {
					out = append(out, key)
				}
			}
			return true
		})
	}
	diff(b, a)
	diff(a, b)
	sort.Strings(out)
	return out
}

// rediscover re-reads the extends chain and swaps in the new layers: a
// layer still present keeps its state, a new one is read, and only the
// names whose winning definition changed are rebuilt. If the chain has
// errors (a syntax error, a missing parent, a cycle), the layers stay as
// they are and the problems say why. It returns the new layers' names, nil
// when they did not change.
func (rt *Runtime) rediscover(dirty map[string]bool) (names []string, applied bool) {
	if rt.opts.discover == nil {
		return nil, false
	}
	layers, probs, err := rt.opts.discover()
	if err != nil {
		probs = append(probs, elements.Errorf(elements.DisplayPath(rt.layers[0].Name, AppFile), "extends", "%v; keeping the parents loaded before", err))
	}
	if !sameProblems(rt.baseProbs, probs) {
		rt.baseProbs = probs
		rt.probsChanged = true
	}
	if err != nil || probs.HasErrors() {
		// As with an element: only a valid app.json is applied.
		return nil, false
	}
	if sameLayers(rt.layers, layers) {
		return nil, true
	}
	winners := func() map[string]*elements.Definition {
		out := map[string]*elements.Definition{}
		for _, ls := range rt.layers {
			for name := range ls.byName {
				if _, ok := out[name]; !ok {
					out[name], _ = rt.effective(name)
				}
			}
		}
		return out
	}
	before := winners()
	old := map[string]*layerState{}
	for _, ls := range rt.layers {
		old[layerKey(ls.Layer)] = ls
	}
	next := make([]*layerState, 0, len(layers))
	for _, l := range layers {
		ls := old[layerKey(l)]
		if ls == nil {
			ls = newLayerState(l)
		}
		next = append(next, ls)
		names = append(names, l.Name)
	}
	rt.layers = next
	rt.setLayers()
	rt.rulesGen.Add(1)
	after := winners()
	for name, d := range after {
		if before[name] != d {
			dirty[name] = true
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			dirty[name] = true
		}
	}
	rt.probsChanged = true
	return names, true
}

// rescan re-reads the element folder that contains p (or, when p is not
// inside an element, every element folder under p) and marks the names
// whose definition changed.
func (rt *Runtime) rescan(ls *layerState, p string, dirty map[string]bool) {
	root := rt.enclosingElement(ls, p)
	oldNames := map[string]*elements.Definition{}
	if n := ls.lookupNode(root); n != nil {
		collect(n, root, oldNames)
		ls.detach(root) // put re-attaches what still exists
	}
	oldProbs := map[string]elements.Problems{}
	for name := range oldNames {
		if ps := ls.broken[name]; ps != nil {
			oldProbs[name] = ps
		}
		delete(ls.byName, name)
		delete(ls.broken, name)
	}
	seen := map[string]bool{}
	for _, s := range scanTree(ls.Layer, ls.rules, root, nil) {
		name := elements.FullNameOf(s.dir)
		seen[name] = true
		old := oldNames[name]
		if s.def == nil {
			s.def = old // broken now: the last good definition stays
		} else if old != nil && sameDefinition(old, s.def) {
			s.def = old
		}
		ls.put(s)
		if s.def != old {
			dirty[name] = true
		}
		if !sameProblems(oldProbs[name], s.probs) {
			rt.probsChanged = true
		}
	}
	for name := range oldNames {
		if !seen[name] {
			dirty[name] = true
			if oldProbs[name] != nil {
				rt.probsChanged = true
			}
		}
	}
}

// enclosingElement returns the nearest element folder at or above p, so an
// edited config re-reads its element, or p itself when no element encloses
// it (a new or removed folder between elements).
func (rt *Runtime) enclosingElement(ls *layerState, p string) string {
	for dir := p; dir != "" && dir != "."; dir = path.Dir(dir) {
		if n := ls.lookupNode(dir); n != nil && (n.def != nil || n.probs != nil) {
			return dir
		}
		if exists(ls, path.Join(dir, elements.ElementFile)) {
			return dir
		}
	}
	return p
}

func exists(ls *layerState, name string) bool {
	fi, err := fs.Stat(ls.FS, name)
	return err == nil && !fi.IsDir()
}

func collect(n *node, dir string, out map[string]*elements.Definition) {
	if n.def != nil || n.probs != nil {
		out[elements.FullNameOf(dir)] = n.def
	}
	for seg, k := range n.kids {
		collect(k, path.Join(dir, seg), out)
	}
}

func sameProblems(a, b elements.Problems) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if *a[i] != *b[i] {
			return false
		}
	}
	return true
}

func sameDefinition(a, b *elements.Definition) bool {
	return a.ConfigFile == b.ConfigFile && bytes.Equal(a.EJSON, b.EJSON) && bytes.Equal(a.Config, b.Config)
}

// apply resolves and builds the dirty names and everything whose Type chain
// runs through them, then publishes one snapshot.
func (rt *Runtime) apply(ctx context.Context, dirty map[string]bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rt.suggestMemo = map[string]string{}
	// Update the dependents index before walking it, so a newly defined
	// type picks up elements that were waiting for it.
	for name := range dirty {
		old := rt.declared[name]
		d, _ := rt.effective(name)
		var now string
		if d != nil {
			now = d.Type
		}
		if old != now || d == nil {
			if set := rt.dependents[old]; set != nil {
				delete(set, name)
			}
			delete(rt.declared, name)
		}
		if d != nil && now != "" {
			rt.declared[name] = now
			if rt.dependents[now] == nil {
				rt.dependents[now] = map[string]struct{}{}
			}
			rt.dependents[now][name] = struct{}{}
		}
	}
	affected := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if affected[name] {
			return
		}
		affected[name] = true
		for dep := range rt.dependents[name] {
			visit(dep)
		}
	}
	for name := range dirty {
		visit(name)
	}
	for name := range affected {
		delete(rt.res, name)
	}

	names := make([]string, 0, len(affected))
	for name := range affected {
		names = append(names, name)
	}
	sort.Strings(names)
	updates := map[string]*Entry{}
	var retired []any
	for _, name := range names {
		old := rt.entries[name]
		d, _ := rt.effective(name)
		if d == nil {
			if rt.buildProbs[name] != nil {
				rt.probsChanged = true
			}
			delete(rt.buildProbs, name)
			if old != nil {
				updates[name] = nil
				retired = append(retired, rt.retire(name, old, updates)...)
			}
			continue
		}
		e, probs := rt.build(ctx, name)
		if !sameProblems(rt.buildProbs[name], probs) {
			rt.probsChanged = true
		}
		if len(probs) > 0 {
			rt.buildProbs[name] = probs
		} else {
			delete(rt.buildProbs, name)
		}
		if e == nil {
			continue // publish logs its problems, once
		}
		updates[name] = e
		if old != nil {
			retired = append(retired, rt.retire(name, old, updates)...)
		}
		if parent, ok := e.Object.(elements.Parent); ok && e.Kind == elements.KindInstance {
			for rel, child := range parent.Children() {
				cname := name + "." + rel
				rt.children[name] = append(rt.children[name], cname)
				updates[cname] = &Entry{
					FullName: cname, Title: rel, Kind: elements.KindInstance, Layer: e.Layer,
					Parent: name, Impl: e.Impl, Def: d, Object: child,
				}
			}
		}
	}
	if prev := rt.cur.Load(); len(updates) > 0 || rt.probsChanged || prev == nil {
		rt.publish(updates)
		rt.probsChanged = false
		if prev != nil {
			rt.logOutcomes(prev, names, updates)
		}
	}
	// Old objects are cleaned up only once no new reader can reach them.
	if err := cleanupAll(retired); err != nil {
		rt.opts.logger.Warn("cleanup of a replaced element failed", "error", err)
	}
	return nil
}

// retire drops an entry's sub-elements and returns the object to clean up.
func (rt *Runtime) retire(name string, old *Entry, updates map[string]*Entry) []any {
	for _, c := range rt.children[name] {
		if _, replaced := updates[c]; !replaced {
			updates[c] = nil
		}
	}
	delete(rt.children, name)
	if old.Kind == elements.KindInstance && old.Parent == "" {
		return []any{old.Object}
	}
	return nil
}

// logOutcomes logs, once per reload, what happened to each element it
// touched: added, removed, reloaded, or fixed. Broken ones were logged with
// their problem as the snapshot was published.
func (rt *Runtime) logOutcomes(prev *Snapshot, names []string, updates map[string]*Entry) {
	before, after := erroneous(prev.Problems()), erroneous(rt.cur.Load().Problems())
	for _, name := range names {
		e, updated := updates[name]
		_, existed := prev.Get(name)
		switch {
		case before[name] && !after[name] && e != nil:
			rt.opts.logger.Info("element fixed", "element", name)
		case !updated:
		case e == nil && existed:
			rt.opts.logger.Info("element removed", "element", name)
		case e != nil && !existed:
			rt.opts.logger.Info("element added", "element", name, "type", e.Type)
		case e != nil:
			rt.opts.logger.Info("element reloaded", "element", name)
		}
	}
}

func erroneous(ps elements.Problems) map[string]bool {
	out := map[string]bool{}
	for _, p := range ps {
		if p.Severity == elements.SeverityError && p.Element != "" {
			out[p.Element] = true
		}
	}
	return out
}

func sameLayers(a []*layerState, b []Layer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if layerKey(a[i].Layer) != layerKey(b[i]) {
			return false
		}
	}
	return true
}

// layerKey identifies a layer across discoveries: by its folder on disk, or
// by name for the built-in and in-memory trees, which never change.
func layerKey(l Layer) string { return l.Name + "\x00" + l.Dir }
