package runtime_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/runtime"
)

// WidgetType is the generic test Type: a schema, a lifecycle that counts
// cleanups, and one sub-element per instance.
const WidgetType = "demo.things.WidgetType"

// CheapType is a Type whose instances cost next to nothing to build, for
// benchmarks that measure the runtime rather than an element.
const CheapType = "demo.bench.CheapType"

// totalCleanups counts Widget cleanups across every test.
var totalCleanups atomic.Int64

func init() {
	elements.RegisterType(elements.TypeInfo{
		ID: WidgetType,
		Schema: elements.Schema{Fields: []elements.Field{
			{Name: "size", Kind: elements.Number, Required: true},
			{Name: "color", Kind: elements.String, Enum: []string{"red", "green", "blue"}},
			{Name: "label", Kind: elements.String},
			{Name: "secret", Kind: elements.String, Secret: true},
			{Name: "tags", Kind: elements.StringArray},
			{Name: "failProvision", Kind: elements.Bool},
		}},
		New: func() any { return new(Widget) },
	})
	elements.RegisterType(elements.TypeInfo{
		ID:     CheapType,
		Schema: elements.Schema{Fields: []elements.Field{{Name: "n", Kind: elements.Number}}},
		New:    func() any { return new(Cheap) },
	})
}

// Widget is a live instance of WidgetType.
type Widget struct {
	Size          float64  `json:"size"`
	Color         string   `json:"color"`
	Label         string   `json:"label"`
	Secret        string   `json:"secret"`
	Tags          []string `json:"tags"`
	FailProvision bool     `json:"failProvision"`

	name     string
	chain    []string
	helper   *WidgetHelper
	cleanups atomic.Int32
}

// WidgetHelper is a Widget's sub-element, services.Helper.
type WidgetHelper struct{ Owner *Widget }

func (w *Widget) Provision(_ elements.Context, inst *elements.Instance) error {
	if w.FailProvision {
		return errors.New("provision refused")
	}
	w.name, w.chain = inst.FullName(), inst.TypeChain
	w.helper = &WidgetHelper{Owner: w}
	return nil
}

func (w *Widget) Children() map[string]any { return map[string]any{"services.Helper": w.helper} }

func (w *Widget) Cleanup() error {
	w.cleanups.Add(1)
	totalCleanups.Add(1)
	return nil
}

// Cheap is a live instance of CheapType.
type Cheap struct {
	N float64 `json:"n"`
}

var (
	appsDir = filepath.Join("..", "testdata", "apps")
	quiet   = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// env is a fixed environment for {{VAR}}.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var defaultEnv = env("WECHAT_APP_SECRET", "abcdef0123456789abcdef0123456789", "WIDGET_SECRET", "w1dget")

// open loads the app folder dir with its parents and the built-in layer.
func open(t testing.TB, dir string, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	layers, probs, err := runtime.DiscoverLayers(os.DirFS(dir), ".", dir)
	if err != nil {
		t.Fatal(err)
	}
	layers = append(layers, runtime.Layer{Name: "builtin", FS: auths.Builtin()})
	opts = append([]runtime.Option{runtime.WithLogger(quiet), runtime.WithLookupEnv(defaultEnv)}, opts...)
	rt, err := runtime.New(context.Background(), layers, probs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func problemLines(ps elements.Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Severity.String()+" "+p.Error())
	}
	return out
}

func get(t testing.TB, rt *runtime.Runtime, name string) *runtime.Entry {
	t.Helper()
	e, ok := rt.Snapshot().Get(name)
	if !ok {
		t.Fatalf("%s not found; problems:\n%s", name, strings.Join(problemLines(rt.Snapshot().Problems()), "\n"))
	}
	return e
}

func widget(t testing.TB, rt *runtime.Runtime, name string) *Widget {
	t.Helper()
	w, ok := get(t, rt, name).Object.(*Widget)
	if !ok {
		t.Fatalf("%s is %T, not a *Widget", name, get(t, rt, name).Object)
	}
	return w
}

// writeFile writes a file, creating its folder.
func writeFile(t testing.TB, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
