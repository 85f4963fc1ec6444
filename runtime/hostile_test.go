package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit/runtime"
)

// within fails the test if f does not return in time: the attacks below
// used to hang or grow without bound.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not finish within %v", d)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("symlink: %v", err)
	}
}

// widgetAt writes a Widget instance element at dir.
func widgetAt(t *testing.T, dir string) {
	writeFile(t, filepath.Join(dir, "e.json"), `{"type":"`+WidgetType+`"}`)
	writeFile(t, filepath.Join(dir, "config.json"), `{"size":1}`)
}

func TestSymlinkLoops(t *testing.T) {
	tests := []struct {
		name     string
		make     func(t *testing.T, app, outside string)
		live     []string
		problems []string
	}{
		{
			name: "link to the parent",
			make: func(t *testing.T, app, _ string) {
				widgetAt(t, filepath.Join(app, "a", "W"))
				symlink(t, "..", filepath.Join(app, "a", "loop"))
			},
			live:     []string{"a.W"},
			problems: []string{"error a/loop: symlink loop: leads back to the layer's root folder; not followed"},
		},
		{
			name: "links at each other's parents inside the app",
			make: func(t *testing.T, app, _ string) {
				widgetAt(t, filepath.Join(app, "a", "W"))
				widgetAt(t, filepath.Join(app, "b", "W"))
				symlink(t, "../b", filepath.Join(app, "a", "x"))
				symlink(t, "../a", filepath.Join(app, "b", "y"))
			},
			live: []string{"a.W", "b.W"},
			problems: []string{
				"warning a/x: links to folder b, which is read under its own name; not read twice",
				"warning b/y: links to folder a, which is read under its own name; not read twice",
			},
		},
		{
			name: "links at each other's parents outside the app",
			make: func(t *testing.T, app, outside string) {
				widgetAt(t, filepath.Join(outside, "p", "W"))
				widgetAt(t, filepath.Join(outside, "q", "W"))
				symlink(t, "../q", filepath.Join(outside, "p", "x"))
				symlink(t, "../p", filepath.Join(outside, "q", "y"))
				symlink(t, filepath.Join(outside, "p"), filepath.Join(app, "ext"))
			},
			live:     []string{"ext.W", "ext.x.W"},
			problems: []string{"error ext/x/y: symlink loop: leads back to folder ext; not followed"},
		},
		{
			name: "one folder linked twice from outside",
			make: func(t *testing.T, app, outside string) {
				widgetAt(t, filepath.Join(outside, "p", "W"))
				symlink(t, filepath.Join(outside, "p"), filepath.Join(app, "one"))
				symlink(t, filepath.Join(outside, "p"), filepath.Join(app, "two"))
			},
			// Not a loop: both names are read, as before.
			live: []string{"one.W", "two.W"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, outside := t.TempDir(), t.TempDir()
			tc.make(t, app, outside)
			within(t, 10*time.Second, func() {
				rt := open(t, app)
				check := func(when string) {
					snap := rt.Snapshot()
					if got := problemLines(snap.Problems()); !slices.Equal(got, tc.problems) {
						t.Errorf("%s: problems:\n got  %q\n want %q", when, got, tc.problems)
					}
					for _, p := range snap.Problems() {
						if p.Element == "" {
							t.Errorf("%s: problem %q does not name its element", when, p)
						}
					}
					for _, n := range tc.live {
						get(t, rt, n)
					}
				}
				check("load")
				// A rescan of any folder sees the same thing.
				for _, p := range []string{"", "a", "b", "ext", "ext/x", "one", "two"} {
					if err := rt.Reload(context.Background(), []runtime.Change{{Layer: 0, Path: p}}); err != nil {
						t.Fatal(err)
					}
					check("reload " + p)
				}
			})
		})
	}
}

func TestSpecialAppJSON(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, app string)
		want string
	}{
		{
			name: "device",
			make: func(t *testing.T, app string) {
				if _, err := os.Stat("/dev/zero"); err != nil {
					t.Skip("no /dev/zero")
				}
				symlink(t, "/dev/zero", filepath.Join(app, "app.json"))
			},
			want: "error app.json: cannot read: not a regular file (device)",
		},
		{
			name: "deep",
			make: func(t *testing.T, app string) {
				writeFile(t, filepath.Join(app, "app.json"), `{"extends":`+strings.Repeat("[", 2_000_000))
			},
			want: "error app.json: JSON nested deeper than 64 levels",
		},
		{
			name: "byte-order mark",
			make: func(t *testing.T, app string) {
				writeFile(t, filepath.Join(app, "app.json"), "\xEF\xBB\xBF"+`{"extends":"parent"}`)
				if err := os.Mkdir(filepath.Join(app, "parent"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := filepath.Join(t.TempDir(), "app")
			if err := os.Mkdir(app, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.make(t, app)
			within(t, 10*time.Second, func() {
				layers, probs, err := runtime.DiscoverLayers(os.DirFS(app), ".", app)
				if err != nil {
					t.Fatal(err)
				}
				got := problemLines(probs)
				if tc.want == "" {
					if len(got) != 0 || len(layers) != 2 {
						t.Errorf("problems %q, %d layers", got, len(layers))
					}
					return
				}
				if !slices.Equal(got, []string{tc.want}) {
					t.Errorf("problems:\n got  %q\n want %q", got, tc.want)
				}
			})
		})
	}
}
