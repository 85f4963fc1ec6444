package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/runtime"
)

// openWatchedWith is openWatched with a log to read and extra options.
func openWatchedWith(t *testing.T, dir string, logs *syncLog, opts ...runtime.WatchOption) *watched {
	t.Helper()
	return watch(t, open(t, dir, runtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))), opts...)
}

// registryLines sums up a snapshot the way a person would compare two:
// every element with its definition, and every problem. An element whose
// files are broken now is listed by its problems only: live, it keeps its
// last good version, which a fresh load never saw.
func registryLines(s *runtime.Snapshot) []string {
	broken := map[string]bool{}
	var out []string
	for _, p := range s.Problems() {
		if p.Severity == elements.SeverityError && p.Element != "" {
			broken[p.Element] = true
		}
		out = append(out, "problem "+p.Severity.String()+" "+p.Error())
	}
	for _, e := range s.Entries() {
		if broken[e.FullName] || broken[e.Parent] {
			continue
		}
		line := fmt.Sprintf("entry %s %s %s layer=%s parent=%s", e.FullName, e.Kind, e.Type, e.Layer, e.Parent)
		if e.Def != nil {
			line += " ejson=" + string(e.Def.EJSON) + " config=" + string(e.Def.Config)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

// sameAsFreshLoad waits until the live registry equals a fresh load of the
// same folder, and fails with the difference when it never does.
func sameAsFreshLoad(t *testing.T, w *watched, dir string) {
	t.Helper()
	var live, fresh []string
	deadline := time.Now().Add(waitTimeout)
	for {
		fresh = registryLines(open(t, dir).Snapshot())
		live = registryLines(w.Snapshot())
		if slices.Equal(live, fresh) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the live registry differs from a fresh load:\n%s", lineDiff(live, fresh))
}

func lineDiff(live, fresh []string) string {
	var b strings.Builder
	for _, l := range live {
		if !slices.Contains(fresh, l) {
			fmt.Fprintf(&b, "  live only:  %s\n", l)
		}
	}
	for _, l := range fresh {
		if !slices.Contains(live, l) {
			fmt.Fprintf(&b, "  fresh only: %s\n", l)
		}
	}
	return b.String()
}

// The files a JitAi export keeps beside its elements.
var exportClutter = map[string]string{
	"jit.config.ts":              "export default {}\n",
	"requirements.txt":           "requests\n",
	"initData.json":              `{"rows":[]}`,
	"package.json":               `{"name":"app"}`,
	"models/__init__.py":         "",
	"commons/util.py":            "def f(): pass\n",
	"appData/uploads/a.json":     `{}`,
	"node_modules/pkg/e.json":    `{"title":"not an element","type":"demo.things.WidgetType"}`,
	"dist/assets/e.json":         `{"title":"not an element","type":"demo.things.WidgetType"}`,
	"test/e2e/e.json":            `{"title":"not an element","type":"demo.things.WidgetType"}`,
	"__pycache__/x.pyc":          "\x00",
	"demo/__pycache__/e.json":    `{"type":"nope"}`,
	"demo/things/Red/index.ts":   "export {}\n",
	"demo/things/Red/backend/x":  "code\n",
	".git/HEAD":                  "ref: refs/heads/main\n",
	"demo/things/Red/.Red.json~": "{",
}

// Editing files that are not part of an element causes no problem and no
// reload; skipped folders stay skipped however they are edited.
func TestNonElementEditsCauseNothing(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	for name, body := range exportClutter {
		writeFile(t, filepath.Join(dir, name), body)
	}
	w := openWatchedWith(t, dir, &syncLog{})
	if ps := problemLines(w.Snapshot().Problems()); len(ps) > 0 {
		t.Fatalf("problems at startup: %q", ps)
	}
	gen := w.Snapshot().Generation()
	for name, body := range exportClutter {
		writeFile(t, filepath.Join(dir, name), body+"\n")
	}
	writeFile(t, filepath.Join(dir, "node_modules/other/deep/e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "dist/New/e.json"), `{"type":"demo.things.WidgetType"}`)
	// A sentinel edit: once it is applied, every earlier event was handled.
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the sentinel edit", sizeIs("demo.things.Red", 2))
	time.Sleep(200 * time.Millisecond) // let any stray reload land
	if n := w.reloads.Load(); n != 1 {
		t.Errorf("%d reloads; want 1 (the sentinel only)", n)
	}
	if g := w.Snapshot().Generation(); g != gen+1 {
		t.Errorf("generation %d → %d; want one new snapshot", gen, g)
	}
	if ps := problemLines(w.Snapshot().Problems()); len(ps) > 0 {
		t.Errorf("problems: %q", ps)
	}
	sameAsFreshLoad(t, w, dir)
}

// app.json "ignore" lists folders (names or globs) that are neither read
// nor watched, and an edit to the list applies live.
func TestAppIgnoreList(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":["drafts","demo/old*"]}`)
	for _, el := range []string{"drafts/A", "demo/oldies/B", "demo/kept/C"} {
		writeFile(t, filepath.Join(dir, el, "e.json"), `{"type":"demo.things.WidgetType"}`)
		writeFile(t, filepath.Join(dir, el, filepath.Base(el)+".json"), `{"size":1}`)
	}
	logs := &syncLog{}
	w := openWatchedWith(t, dir, logs)
	has := func(name string) func(*runtime.Snapshot) bool {
		return func(s *runtime.Snapshot) bool { _, ok := s.Get(name); return ok }
	}
	for name, want := range map[string]bool{"drafts.A": false, "demo.oldies.B": false, "demo.kept.C": true} {
		if has(name)(w.Snapshot()) != want {
			t.Errorf("%s loaded = %v, want %v", name, !want, want)
		}
	}
	// Edits inside an ignored folder change nothing.
	writeFile(t, filepath.Join(dir, "drafts/A/A.json"), `{"size":5}`)
	writeFile(t, filepath.Join(dir, "drafts/New/e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "demo/kept/C/C.json"), `{"size":2}`)
	w.eventually(t, "the sentinel edit", sizeIs("demo.kept.C", 2))
	if has("drafts.A")(w.Snapshot()) || has("drafts.New")(w.Snapshot()) {
		t.Fatal("an ignored folder was read on reload")
	}

	writeFile(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":["demo/old*"]}`)
	w.eventually(t, "drafts read once no longer ignored", has("drafts.A"))
	// ...and watched from then on.
	writeFile(t, filepath.Join(dir, "drafts/A/A.json"), `{"size":6}`)
	w.eventually(t, "an edit in the folder no longer ignored", sizeIs("drafts.A", 6))
	sameAsFreshLoad(t, w, dir)

	writeFile(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":["demo/old*", 7, "a[b"]}`)
	w.eventually(t, "bad ignore entries reported", hasProblem(`error app.json: ignore[1]: must be a folder name or a glob such as "drafts" or "pages/old*"`))
	if !hasProblem(`error app.json: ignore[2]: "a[b" is not a valid glob`)(w.Snapshot()) {
		t.Errorf("problems: %q", problemLines(w.Snapshot().Problems()))
	}
}

// After any sequence of edits the live registry equals a fresh load of the
// same folder.
func TestRandomEditsMatchFreshLoad(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("JIT_TEST_SEED"); s != "" { // to replay a failure
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (JIT_TEST_SEED replays it)", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	var did []string // what the ops did, shown when a round fails
	folders := []string{"demo/things/A", "demo/things/B", "demo/more/C", "x/D", "x/D/sub/E", "node_modules/p/F", "dist/G", "models/H", "demo/things/A/frontend/I"}
	ops := []func(){
		func() { // a new or rewritten element
			f := folders[r.IntN(len(folders))]
			did = append(did, "write element "+f)
			writeFile(t, filepath.Join(dir, f, "e.json"), `{"title":"x","type":"demo.things.WidgetType"}`)
			writeFile(t, filepath.Join(dir, f, filepath.Base(f)+".json"), fmt.Sprintf(`{"size":%d}`, r.IntN(9)+1))
		},
		func() { // a config edit, sometimes broken
			f := folders[r.IntN(len(folders))]
			body := fmt.Sprintf(`{"size":%d}`, r.IntN(9)+1)
			if r.IntN(4) == 0 {
				body = `{"size":`
			}
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				did = append(did, "write config "+f+" "+body)
				writeFile(t, filepath.Join(dir, f, filepath.Base(f)+".json"), body)
			}
		},
		func() {
			f := folders[r.IntN(len(folders))]
			did = append(did, "rm -rf "+f)
			os.RemoveAll(filepath.Join(dir, f))
		},
		func() {
			f := folders[r.IntN(len(folders))]
			did = append(did, "rm "+f+"/e.json")
			os.Remove(filepath.Join(dir, f, "e.json"))
		},
		func() { // a folder renamed
			from, to := folders[r.IntN(len(folders))], folders[r.IntN(len(folders))]
			if _, err := os.Stat(filepath.Join(dir, to)); err != nil && from != to && !strings.HasPrefix(to, from+"/") {
				did = append(did, "mv "+from+" "+to)
				os.MkdirAll(filepath.Dir(filepath.Join(dir, to)), 0o755)
				os.Rename(filepath.Join(dir, from), filepath.Join(dir, to))
			}
		},
		func() { // clutter
			for name, body := range exportClutter {
				if r.IntN(3) == 0 {
					writeFile(t, filepath.Join(dir, name), body+strings.Repeat(" ", r.IntN(3)))
				}
			}
		},
		func() { // the ignore list
			ignore := []string{`[]`, `["x"]`, `["demo/more"]`}[r.IntN(3)]
			did = append(did, "ignore "+ignore)
			writeFile(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":`+ignore+`}`)
		},
	}
	for round := range 6 {
		for range 8 + r.IntN(8) {
			ops[r.IntN(len(ops))]()
			if r.IntN(3) == 0 {
				pause := time.Duration(r.IntN(40)) * time.Millisecond // sometimes within a debounce, sometimes not
				did = append(did, fmt.Sprint("sleep ", pause))
				time.Sleep(pause)
			}
		}
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("edits so far:\n%s", strings.Join(did, "\n"))
				}
			}()
			sameAsFreshLoad(t, w, dir)
		})
	}
}

// When the kernel's inotify watch limit is reached, the watcher polls the
// folders it could not watch, warns once, and edits there still apply.
func TestWatchLimitFallsBackToPolling(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	for i := range 5 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("more/M%d/e.json", i)), `{"type":"demo.things.WidgetType"}`)
		writeFile(t, filepath.Join(dir, fmt.Sprintf("more/M%d/M%d.json", i, i)), `{"size":1}`)
	}
	var watches atomic.Int32
	limited := func(fsw *fsnotify.Watcher, dir string) error {
		if watches.Add(1) > 3 {
			return fmt.Errorf("inotify_add_watch %s: %w", dir, errors.New("no space left on device"))
		}
		return fsw.Add(dir)
	}
	logs := &syncLog{}
	w := openWatchedWith(t, dir, logs, runtime.WithAddWatch(limited), runtime.WithPollInterval(50*time.Millisecond))
	for i := range 5 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("more/M%d/M%d.json", i, i)), fmt.Sprintf(`{"size":%d}`, i+2))
	}
	writeWidget(t, filepath.Join(dir, "more/New"), 9)
	for i := range 5 {
		w.eventually(t, fmt.Sprintf("M%d edited", i), sizeIs(fmt.Sprintf("more.M%d", i), float64(i+2)))
	}
	w.eventually(t, "a new element in a polled folder", sizeIs("more.New", 9))
	if n := strings.Count(logs.String(), "polling the rest"); n != 1 {
		t.Errorf("%d polling warnings; want 1:\n%s", n, logs)
	}
	sameAsFreshLoad(t, w, dir)
}

// A deploy that replaces the app folder (mv and copy, rm -rf and clone, a
// swapped symlink) keeps the last good elements serving while the folder
// is gone, says so, and watches the new folder once it is there.
func TestAppFolderReplaced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		remove func(t *testing.T, app string)
		bring  func(t *testing.T, app string)
	}{
		{"mv and cp -r", func(t *testing.T, app string) { mustRun(t, "mv", app, app+".old") },
			func(t *testing.T, app string) { mustRun(t, "cp", "-r", app+".old", app) }},
		{"rm -rf and a fresh copy", func(t *testing.T, app string) {
			mustRun(t, "cp", "-r", app, app+".src")
			mustRun(t, "rm", "-rf", app)
		}, func(t *testing.T, app string) { mustRun(t, "cp", "-r", app+".src", app) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := filepath.Join(t.TempDir(), "app")
			mustRun(t, "cp", "-r", newApp(t), app)
			w := openWatchedWith(t, app, &syncLog{})
			tc.remove(t, app)
			w.eventually(t, "the folder reported missing", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 1 })
			if w := widgetIn(w.Snapshot(), "demo.things.Red"); w == nil || w.Size != 1 {
				t.Fatalf("Red while the folder is gone: %+v", w)
			}
			if !hasProblem("error " + app + ": folder is missing; its last good elements serve until it is back")(w.Snapshot()) {
				t.Errorf("problems: %q", problemLines(w.Snapshot().Problems()))
			}
			tc.bring(t, app)
			w.eventually(t, "the folder back", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 0 && len(s.Problems()) == 0 })
			writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":3}`)
			w.eventually(t, "an edit in the new folder", sizeIs("demo.things.Red", 3))
			writeWidget(t, filepath.Join(app, "demo/things/New"), 4)
			w.eventually(t, "a new element in the new folder", sizeIs("demo.things.New", 4))
			sameAsFreshLoad(t, w, app)
		})
	}
	t.Run("swapped symlink", func(t *testing.T) {
		t.Parallel()
		base, current := releases(t, nil, nil)
		w := openWatchedWith(t, current, &syncLog{})
		swapSymlink(t, "release-2", current)
		w.eventually(t, "release-2 read", sizeIs("demo.things.Red", 2))
		writeFile(t, filepath.Join(base, "release-2/demo/things/Red/Red.json"), `{"size":5}`)
		w.eventually(t, "an edit in release-2", sizeIs("demo.things.Red", 5))
		writeFile(t, filepath.Join(base, "release-1/demo/things/Red/Red.json"), `{"size":7}`)
		time.Sleep(300 * time.Millisecond)
		if got := widgetIn(w.Snapshot(), "demo.things.Red"); got.Size != 5 {
			t.Errorf("an edit to the old release was applied: size %v", got.Size)
		}
	})
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// Every reload outcome is logged once: applied, broken (with the problem),
// fixed, added and removed.
func TestReloadOutcomesAreLoggedOnce(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	logs := &syncLog{}
	openWatchedWith(t, dir, logs)
	red := filepath.Join(dir, "demo/things/Red/Red.json")
	steps := []struct {
		edit func()
		log  string
	}{
		{func() { writeFile(t, red, `{"size":2}`) }, `msg="element reloaded" element=demo.things.Red`},
		{func() { writeFile(t, red, `{"size":2,}`) },
			`level=ERROR msg="element is broken; keeping its last good version" element=demo.things.Red problem="demo/things/Red/Red.json: not valid JSON: line 1, column 11: trailing comma before } (remove the last comma)"`},
		{func() { writeFile(t, red, `{"size":3}`) }, `msg="element fixed" element=demo.things.Red`},
		{func() {
			writeFile(t, filepath.Join(dir, "demo/things/New/New.json"), `{"size":1}`)
			writeFile(t, filepath.Join(dir, "demo/things/New/e.json"), `{"type":"demo.things.WidgetType"}`)
		}, `msg="element added" element=demo.things.New type=demo.things.WidgetType`},
		{func() { os.RemoveAll(filepath.Join(dir, "demo/things/New")) }, `msg="element removed" element=demo.things.New`},
	}
	for _, step := range steps {
		step.edit()
		deadline := time.Now().Add(waitTimeout)
		for !strings.Contains(logs.String(), step.log) {
			if time.Now().After(deadline) {
				t.Fatalf("no log line %s; log:\n%s", step.log, logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, step := range steps {
		if n := strings.Count(logs.String(), step.log); n != 1 {
			t.Errorf("%q logged %d times; log:\n%s", step.log, n, logs)
		}
	}
}

// StuckType's Provision can block and ignore its context, as buggy element
// code may: shutdown must not wait for it.
const StuckType = "demo.stuck.StuckType"

type stuckConfig struct {
	Block bool `json:"block"`
}

type stuck struct {
	stuckConfig
}

var (
	stuckEntered = make(chan struct{}, 1)
	stuckRelease chan struct{} // set by the test that blocks
)

func (s *stuck) Provision(elements.Context, *elements.Instance) error {
	if s.Block {
		release := stuckRelease
		stuckEntered <- struct{}{}
		<-release
	}
	return nil
}

func init() {
	elements.RegisterType(elements.TypeInfo{ID: StuckType, Schema: elements.MustSchemaOf[stuckConfig](), New: func() any { return new(stuck) }})
}

// A reload stuck in an element's own code never holds up shutdown: the
// watcher and the runtime close within a few seconds, saying why.
func TestCloseDoesNotWaitForAStuckReload(t *testing.T) {
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "demo/stuck/StuckType/e.json"), `{"title":"Stuck","type":"demo.things.Meta"}`)
	writeFile(t, filepath.Join(dir, "demo/stuck/S/e.json"), `{"type":"demo.stuck.StuckType"}`)
	writeFile(t, filepath.Join(dir, "demo/stuck/S/S.json"), `{"block":false}`)
	rt := open(t, dir)
	release := make(chan struct{})
	stuckRelease = release
	t.Cleanup(func() { close(release) })
	watcher, err := rt.Watch(context.Background(), runtime.WithDebounce(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "demo/stuck/S/S.json"), `{"block":true}`)
	select {
	case <-stuckEntered:
	case <-time.After(waitTimeout):
		t.Fatal("the reload never reached Provision")
	}
	start := time.Now()
	if err := watcher.Close(); !errors.Is(err, runtime.ErrWatcherStuck) {
		t.Errorf("watcher.Close() = %v, want ErrWatcherStuck", err)
	}
	if err := rt.Close(); !errors.Is(err, runtime.ErrReloadStuck) {
		t.Errorf("rt.Close() = %v, want ErrReloadStuck", err)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("closing took %v", took)
	}
}

// openDiscovering opens dir so that an edited extends applies live.
func openDiscovering(t *testing.T, dir string, logs *syncLog, opts ...runtime.WatchOption) *watched {
	t.Helper()
	discover := func() ([]runtime.Layer, elements.Problems, error) {
		layers, probs, err := runtime.DiscoverLayers(os.DirFS(dir), ".", dir)
		if err != nil {
			return nil, probs, err
		}
		return append(layers, builtinLayer()), probs, nil
	}
	layers, probs, err := discover()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(context.Background(), layers, probs, runtime.WithLookupEnv(defaultEnv),
		runtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), runtime.WithDiscover(discover))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return watch(t, rt, opts...)
}

// app.json edits apply live, extends included, with one log line per save
// that names what changed.
func TestAppJSONEditsApplyLive(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeWidget(t, filepath.Join(base, "parent/demo/things/FromParent"), 7)
	logs := &syncLog{}
	w := openDiscovering(t, app, logs)
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	}()
	has := func(name string) func(*runtime.Snapshot) bool {
		return func(s *runtime.Snapshot) bool { _, ok := s.Get(name); return ok }
	}
	waitLog := func(line string) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for !strings.Contains(logs.String(), line) {
			if time.Now().After(deadline) {
				t.Fatalf("no log line %s; log:\n%s", line, logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"reload test","extends":["../parent"]}`)
	w.eventually(t, "the parent's element", sizeIs("demo.things.FromParent", 7))
	waitLog(`msg="app.json changed" file=app.json keys=[extends] layers="[app ../parent builtin]"`)
	red := widgetIn(w.Snapshot(), "demo.things.Red")

	// The new parent is watched.
	writeFile(t, filepath.Join(base, "parent/demo/things/FromParent/FromParent.json"), `{"size":8}`)
	w.eventually(t, "an edit in the parent", sizeIs("demo.things.FromParent", 8))

	// A title edit is one line, and rebuilds nothing.
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"renamed","extends":["../parent"]}`)
	waitLog(`msg="app.json changed" file=app.json keys=[title]` + "\n")
	if widgetIn(w.Snapshot(), "demo.things.Red") != red {
		t.Error("a title edit rebuilt an element")
	}

	// A syntax error is reported with its place; the parents stay.
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"renamed","extends":["../parent"],}`)
	w.eventually(t, "the syntax error", func(s *runtime.Snapshot) bool {
		return slices.ContainsFunc(problemLines(s.Problems()), func(l string) bool {
			return strings.HasPrefix(l, "error app.json: not valid JSON: line 1, column 44")
		})
	})
	if !has("demo.things.FromParent")(w.Snapshot()) {
		t.Error("a broken app.json dropped the parent")
	}

	// A cycle keeps the parents loaded before and says why.
	writeFile(t, filepath.Join(base, "parent/app.json"), `{"extends":["../app"]}`)
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"renamed","extends":["../parent"]}`)
	w.eventually(t, "the cycle reported", func(s *runtime.Snapshot) bool {
		return slices.ContainsFunc(problemLines(s.Problems()), func(l string) bool {
			return strings.Contains(l, "apps extend each other in a cycle")
		})
	})
	os.Remove(filepath.Join(base, "parent/app.json"))

	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"renamed"}`)
	w.eventually(t, "the parent's element gone", func(s *runtime.Snapshot) bool { return !has("demo.things.FromParent")(s) })
	w.eventually(t, "no problems", noProblems)
	if n := strings.Count(logs.String(), `msg="app.json changed" file=app.json`); n != 5 {
		t.Errorf("%d app.json log lines for 5 saves:\n%s", n, logs)
	}
}

func builtinLayer() runtime.Layer { return runtime.Layer{Name: "builtin", FS: auths.Builtin()} }

// writeAtomic saves a file the way editors do: a new file renamed over it.
func writeAtomic(t *testing.T, name, body string) {
	t.Helper()
	writeFile(t, name+".tmp~", body)
	if err := os.Rename(name+".tmp~", name); err != nil {
		t.Fatal(err)
	}
}

// Skipped folders are not watched: an export's node_modules alone can
// hold tens of thousands of folders, each of which would cost a watch.
func TestSkippedFoldersAreNotWatched(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "app.json"), `{"ignore":["drafts"]}`)
	for name, body := range exportClutter {
		writeFile(t, filepath.Join(dir, name), body)
	}
	writeFile(t, filepath.Join(dir, "drafts/X/e.json"), `{}`)
	writeFile(t, filepath.Join(dir, "public/css/site.css"), `body{}`)
	rt := open(t, dir)
	w, err := rt.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var watched []string
	for _, p := range w.WatchList() {
		if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
			watched = append(watched, filepath.ToSlash(rel))
		}
	}
	slices.Sort(watched)
	want := []string{".", "demo", "demo/things", "demo/things/Meta", "demo/things/Red", "demo/things/WidgetType", "models"}
	if !slices.Equal(watched, want) {
		t.Errorf("watched %q\nwant    %q", watched, want)
	}
}

// Edits inside a symlinked folder apply, as the scan follows such links;
// a link back up the tree is not followed round and round.
func TestSymlinkedFolderIsWatched(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	shared := t.TempDir()
	writeWidget(t, filepath.Join(shared, "Linked"), 1)
	if err := os.Symlink(shared, filepath.Join(dir, "shared")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(shared, "loop")); err != nil {
		t.Fatal(err)
	}
	w := openWatchedWith(t, dir, &syncLog{})
	if got := widgetIn(w.Snapshot(), "shared.Linked"); got == nil || got.Size != 1 {
		t.Fatalf("shared.Linked = %+v", got)
	}
	writeFile(t, filepath.Join(shared, "Linked/Linked.json"), `{"size":2}`)
	w.eventually(t, "an edit through the link", sizeIs("shared.Linked", 2))
	sameAsFreshLoad(t, w, dir)
}

// Out of inotify instances, the watcher polls every folder, warns once,
// and still follows edits and a replaced app folder.
func TestNoInotifyPollsEverything(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	logs := &syncLog{}
	w := openWatchedWith(t, app, logs, runtime.WithPollInterval(50*time.Millisecond),
		runtime.WithNewWatcher(func() (*fsnotify.Watcher, error) { return nil, errors.New("too many open files") }))
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":2,"label":"polled"}`)
	w.eventually(t, "an edit seen by polling", sizeIs("demo.things.Red", 2))
	writeWidget(t, filepath.Join(app, "demo/things/New"), 4)
	w.eventually(t, "a new element seen by polling", sizeIs("demo.things.New", 4))
	mustRun(t, "mv", app, app+".old")
	w.eventually(t, "the folder reported missing", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 1 })
	mustRun(t, "cp", "-r", app+".old", app)
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":5}`)
	w.eventually(t, "an edit in the new folder", sizeIs("demo.things.Red", 5))
	if n := strings.Count(logs.String(), "polling every folder"); n != 1 {
		t.Errorf("%d warnings; want 1:\n%s", n, logs)
	}
	sameAsFreshLoad(t, w, app)
}
