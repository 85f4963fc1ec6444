package elements_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jitwx/jit/elements"
)

// seconds is a field type that checks itself.
type seconds int

func (seconds) CheckConfig(v any) error {
	if n := v.(float64); n < 30 {
		return fmt.Errorf("must be at least 30, not %v", n)
	}
	return nil
}

type common struct {
	Link  *bool    `json:"link" default:"true"`
	Hosts []string `json:"hosts"`
}

type tagged struct {
	AppID  string            `json:"appId" required:"true" pattern:"^wx[0-9a-f]{16}$" hint:"\"wx\" followed by 16 hex digits"`
	Secret string            `json:"appSecret" required:"true" secret:"true" pattern:"^[0-9A-Za-z]{16,64}$" hint:"16 to 64 letters and digits"`
	Scope  string            `json:"scope" default:"snsapi_userinfo" enum:"snsapi_base,snsapi_userinfo"`
	Bases  []string          `json:"apiBaseUrls" default:"https://a.example,https://b.example"`
	TTL    seconds           `json:"ttl" default:"120"`
	Extra  map[string]string `json:"extra"`
	Label  string            // no tag: the Go name, as encoding/json
	Skip   string            `json:"-"`
	hidden string
	common
}

// One struct's tags are the schema and the defaults, in field order, the
// embedded struct's keys included.
func TestSchemaOfTags(t *testing.T) {
	s := elements.MustSchemaOf[tagged]()
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "appId appSecret scope apiBaseUrls ttl extra Label link hosts" {
		t.Fatalf("keys %s", got)
	}
	kinds := map[string]elements.ValueKind{"appId": elements.String, "apiBaseUrls": elements.StringArray, "ttl": elements.Number,
		"extra": elements.Object, "link": elements.Bool, "hosts": elements.StringArray}
	for n, k := range kinds {
		if f, _ := s.Field(n); f.Kind != k {
			t.Errorf("%s: kind %s, want %s", n, f.Kind, k)
		}
	}
	if f, _ := s.Field("appId"); !f.Required || f.Pattern == nil || f.Secret {
		t.Errorf("appId %+v", f)
	}
	if f, _ := s.Field("appSecret"); !f.Required || !f.Secret {
		t.Errorf("appSecret %+v", f)
	}
	if f, _ := s.Field("scope"); !reflect.DeepEqual(f.Enum, []string{"snsapi_base", "snsapi_userinfo"}) {
		t.Errorf("scope %+v", f)
	}
	if f, _ := s.Field("ttl"); f.Check == nil {
		t.Error("ttl has no check")
	}
	want := map[string]any{"scope": "snsapi_userinfo", "apiBaseUrls": []any{"https://a.example", "https://b.example"}, "ttl": 120.0, "link": true}
	if got := s.Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("defaults %v, want %v", got, want)
	}
	// Messages are the schema's: path, did-you-mean, the check's own.
	checkProblems(t, s.Validate(map[string]any{"appId": "wx1", "appSecret": "short", "scpoe": "x", "ttl": 5.0}, "a/X/X.json"),
		`error a/X/X.json: appId: must be "wx" followed by 16 hex digits, not "wx1"`,
		`error a/X/X.json: appSecret: must be 16 to 64 letters and digits`,
		`error a/X/X.json: ttl: must be at least 30, not 5`,
		`warning a/X/X.json: scpoe: unknown key (ignored; did you mean scope?)`)
	if h := s.WithHints(map[string]string{"x": "y"}); h.Hints["x"] != "y" || s.Hints != nil {
		t.Error("WithHints")
	}
}

// Malformed tags are programming errors, found when the Type registers.
func TestSchemaOfRefusesBadTags(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{3, "not a struct"},
		{&struct {
			A string `json:"a" pattern:"^x$"`
		}{}, "pattern without a hint"},
		{&struct {
			A string `json:"a" enum:"x,y" default:"z"`
		}{}, `default "z": must be one of "x", "y"`},
		{&struct {
			A int `json:"a" enum:"x"`
		}{}, "enum on a number"},
		{&struct {
			A string `json:"a" required:"yes"`
		}{}, "not true or false"},
		{&struct {
			A string `json:"a" required:"true" default:"x"`
		}{}, "required with a default"},
		{&struct {
			A []int `json:"a"`
		}{}, "only []string"},
		{&struct {
			A seconds `json:"a" default:"10"`
		}{}, "must be at least 30"},
		{&struct {
			A string `json:"a"`
			dupA
		}{}, `key "a" twice`},
	} {
		if _, err := elements.SchemaOf(tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SchemaOf(%T) = %v, want …%s…", tc.v, err, tc.want)
		}
	}
}

type dupA struct {
	X string `json:"a"`
}

type withDefaults struct {
	Scope string   `json:"scope" default:"snsapi_userinfo"`
	Bases []string `json:"bases" default:"a,b"`
	Name  string   `json:"name"`
}

func (w *withDefaults) Provision(ctx elements.Context, inst *elements.Instance) error {
	ctx.Logger().Info("provisioned")
	if n, ok := elements.Lookup[*bytes.Buffer](ctx); !ok || n == nil {
		return errors.New("no buffer provided")
	}
	return nil
}

// Build fills in the defaults where the config leaves a key absent, null or
// "", decodes into the same struct, and hands Provision the host's
// resources and a logger naming the element.
func TestBuildFillsDefaultsAndProvidesTheHost(t *testing.T) {
	var logs bytes.Buffer
	host := elements.NewHost(slog.New(slog.NewTextHandler(&logs, nil)), elements.Provide(new(bytes.Buffer)))
	info := elements.TypeInfo{ID: "a.T", Schema: elements.MustSchemaOf[withDefaults](), New: func() any { return new(withDefaults) }}
	for cfg, want := range map[string]withDefaults{
		`{"name":"n"}`:                          {"snsapi_userinfo", []string{"a", "b"}, "n"},
		`{"scope":"","bases":null}`:             {"snsapi_userinfo", []string{"a", "b"}, ""},
		`{"scope":"snsapi_base","bases":["c"]}`: {"snsapi_base", []string{"c"}, ""},
		``:                                      {"snsapi_userinfo", []string{"a", "b"}, ""},
	} {
		inst := &elements.Instance{Def: &elements.Definition{FullName: "a.X"}, Config: elements.NewConfig([]byte(cfg))}
		obj, err := elements.Build(elements.NewContext(context.Background(), host), info, inst)
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if got := *obj.(*withDefaults); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: built %+v, want %+v", cfg, got, want)
		}
	}
	if !strings.Contains(logs.String(), "element=a.X") {
		t.Errorf("logs %s", logs.String())
	}
	// Without a host nothing is provided and the logger discards.
	inst := &elements.Instance{Def: &elements.Definition{FullName: "a.X"}}
	if _, err := elements.Build(elements.NewContext(context.Background(), nil), info, inst); err == nil || err.Error() != "no buffer provided" {
		t.Errorf("no host: %v", err)
	}
	// A resource provided as nil is there, and nil; one of another type is not.
	ctx := elements.NewContext(context.Background(), elements.NewHost(nil, elements.Provide[elements.Sealer](nil)))
	if s, ok := elements.Lookup[elements.Sealer](ctx); !ok || s != nil {
		t.Errorf("Lookup nil Sealer = %v, %v", s, ok)
	}
	if _, ok := elements.Lookup[*strings.Builder](ctx); ok {
		t.Error("Lookup of what was not provided")
	}
}

// elements/ is the runtime's vocabulary: it must not pull in a database or
// an HTTP stack, which the host provides by type instead.
func TestElementsImportsNoDatabaseNorHTTP(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "gorm.io/") || strings.HasPrefix(p, "net/") || strings.HasPrefix(p, "github.com/jitwx/jit/") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}

// Nor may anything it imports.
func TestElementsDepsHaveNoDatabaseNorHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "gorm.io/") || p == "net/http" || p == "database/sql" {
			t.Errorf("elements depends on %s", p)
		}
	}
}
