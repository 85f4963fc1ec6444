package elements_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jitwx/jit/elements"
)

func problemStrings(ps elements.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Severity.String() + " " + p.Error()
	}
	return out
}

func checkProblems(t *testing.T, got elements.Problems, want ...string) {
	t.Helper()
	g := problemStrings(got)
	if len(g) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(g, want) {
		t.Errorf("problems:\n got  %q\n want %q", g, want)
	}
}

func TestReadDefinition(t *testing.T) {
	const dir = "auths/loginTypes/X"
	tests := []struct {
		name      string
		files     map[string]string // relative to dir
		layer     string
		wantNil   bool
		wantType  string
		wantTitle string
		wantCfg   string // ConfigFile
		probs     []string
	}{
		{
			name:      "own config",
			files:     map[string]string{"e.json": `{"title":"t","type":"a.BType"}`, "X.json": `{"k":1}`},
			wantType:  "a.BType",
			wantTitle: "t",
			wantCfg:   dir + "/X.json",
		},
		{
			name:     "config.json",
			files:    map[string]string{"e.json": `{"type":"a.BType"}`, "config.json": `{"k":1}`},
			wantType: "a.BType",
			wantCfg:  dir + "/config.json",
		},
		{
			name:     "both: own wins, config.json warned",
			files:    map[string]string{"e.json": `{"type":"a.BType"}`, "X.json": `{}`, "config.json": `{}`},
			wantType: "a.BType",
			wantCfg:  dir + "/X.json",
			probs:    []string{"warning auths/loginTypes/X/config.json: ignored: X.json is the business config"},
		},
		{
			name:     "frontBundleEntry names the config",
			files:    map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./Default.json"}`, "Default.json": `{}`, "X.json": `{}`},
			wantType: "a.BType",
			wantCfg:  dir + "/Default.json",
		},
		{
			name:     "frontBundleEntry to a missing file falls back",
			files:    map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./Default.json"}`, "X.json": `{}`},
			wantType: "a.BType",
			wantCfg:  dir + "/X.json",
		},
		{
			name:     "frontBundleEntry naming e.json is ignored",
			files:    map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./e.json"}`},
			wantType: "a.BType",
		},
		{
			name:  "meta, no config, builtin layer",
			files: map[string]string{"e.json": `{"title":"m"}`},
			layer: "builtin", wantTitle: "m",
		},
		{
			name:  "null type is a meta",
			files: map[string]string{"e.json": `{"type":null}`},
		},
		{
			name:     "type is trimmed",
			files:    map[string]string{"e.json": `{"type":"  a.BType "}`},
			wantType: "a.BType",
		},
		{
			name:    "bad JSON e.json",
			files:   map[string]string{"e.json": `{"type":`},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/e.json: not valid JSON: line 1, column 9: the file ends too early (a missing } or ]?)"},
		},
		{
			name:    "e.json not an object",
			files:   map[string]string{"e.json": `["a"]`},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/e.json: must be a JSON object"},
		},
		{
			name:    "e.json empty",
			files:   map[string]string{"e.json": ``},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/e.json: not valid JSON: the file is empty"},
		},
		{
			name:    "title and type of the wrong kind",
			files:   map[string]string{"e.json": `{"title":1,"type":["a"]}`},
			wantNil: true,
			probs: []string{
				"error auths/loginTypes/X/e.json: title: must be a string",
				"error auths/loginTypes/X/e.json: type: must be a string naming a Meta or a Type",
			},
		},
		{
			name:    "bad JSON config",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "X.json": `{"k":}`},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/X.json: not valid JSON: line 1, column 6: a value is missing after the colon"},
		},
		{
			name:    "config not an object",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "config.json": `[1,2]`},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/config.json: must be a JSON object"},
		},
		{
			name:    "parent layer paths",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "X.json": `"s"`},
			layer:   "../parent",
			wantNil: true,
			probs:   []string{"error ../parent/auths/loginTypes/X/X.json: must be a JSON object"},
		},
		{
			name:    "too large",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "X.json": `{"k":"` + strings.Repeat("x", 4<<20) + `"}`},
			wantNil: true,
			probs:   []string{"error auths/loginTypes/X/X.json: cannot read: file larger than 4 MiB"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[dir+"/"+name] = &fstest.MapFile{Data: []byte(body)}
			}
			layer := tc.layer
			if layer == "" {
				layer = "app"
			}
			d, probs := elements.ReadDefinition(fsys, layer, dir)
			checkProblems(t, probs, tc.probs...)
			for _, p := range probs {
				if p.Element != "auths.loginTypes.X" {
					t.Errorf("problem %q: Element = %q", p, p.Element)
				}
			}
			if tc.wantNil {
				if d != nil {
					t.Fatalf("got a definition %+v, want nil", d)
				}
				return
			}
			if d == nil {
				t.Fatal("nil definition")
			}
			if d.FullName != "auths.loginTypes.X" || d.Name() != "X" || d.Layer != layer {
				t.Errorf("FullName %q Name %q Layer %q", d.FullName, d.Name(), d.Layer)
			}
			if d.Type != tc.wantType || d.Title != tc.wantTitle || d.ConfigFile != tc.wantCfg {
				t.Errorf("Type %q Title %q ConfigFile %q; want %q %q %q", d.Type, d.Title, d.ConfigFile, tc.wantType, tc.wantTitle, tc.wantCfg)
			}
			if (d.ConfigFile == "") != (d.Config == nil) {
				t.Errorf("ConfigFile %q but Config %q", d.ConfigFile, d.Config)
			}
		})
	}
}

func TestDefinitionKeepsExtraFields(t *testing.T) {
	fsys := fstest.MapFS{
		"pages/Home/e.json": {Data: []byte(`{"title":"Home","type":"pages.NormalType","icon":"home","sort":3,
			"backendBundleEntry":".","variables":[{"name":"a"}],"allowRegister":true}`)},
	}
	d, probs := elements.ReadDefinition(fsys, "app", "pages/Home")
	checkProblems(t, probs)
	if d.Field("icon").String() != "home" || d.Field("sort").Int() != 3 || !d.Field("allowRegister").Bool() ||
		d.Field("variables.0.name").String() != "a" || d.Field("backendBundleEntry").String() != "." {
		t.Errorf("extra fields lost: %s", d.EJSON)
	}
	if got := d.File("e.json"); got != "pages/Home/e.json" {
		t.Errorf("File = %q", got)
	}
}

func TestDisplayPath(t *testing.T) {
	for _, tc := range []struct{ layer, rel, want string }{
		{"app", "a/e.json", "a/e.json"},
		{"", "a/e.json", "a/e.json"},
		{"builtin", "a/e.json", "builtin:a/e.json"},
		{"../base", "a/e.json", "../base/a/e.json"},
	} {
		if got := elements.DisplayPath(tc.layer, tc.rel); got != tc.want {
			t.Errorf("DisplayPath(%q, %q) = %q, want %q", tc.layer, tc.rel, got, tc.want)
		}
	}
	if got := elements.FullNameOf("x/y/Z/services/Svc"); got != "x.y.Z.services.Svc" {
		t.Errorf("FullNameOf = %q", got)
	}
	if !elements.IsCodeDir("frontend") || !elements.IsCodeDir("backend") || elements.IsCodeDir("services") {
		t.Error("IsCodeDir")
	}
}

func TestMerge(t *testing.T) {
	got, err := elements.Merge(
		elements.ConfigSource{File: "meta", JSON: nil},
		elements.ConfigSource{File: "type", JSON: []byte(`{"a":1,"o":{"x":1,"y":1},"list":[1,2,3],"s":"t"}`)},
		elements.ConfigSource{File: "sub", JSON: []byte(`{"o":{"y":2,"z":{"deep":true}}}`)},
		elements.ConfigSource{File: "inst", JSON: []byte(`{"list":[9],"s":null,"new":"n"}`)},
	)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	const want = `{"a":1,"list":[9],"new":"n","o":{"x":1,"y":2,"z":{"deep":true}},"s":null}`
	if string(b) != want {
		t.Errorf("Merge = %s\nwant   %s", b, want)
	}

	_, err = elements.Merge(elements.ConfigSource{File: "a/A.json", JSON: []byte(`[1]`)})
	if err == nil || err.Error() != "a/A.json: must be a JSON object" || !errors.Is(err, elements.ErrInvalid) {
		t.Errorf("Merge of an array: %v", err)
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	typ := []byte(`{"o":{"x":1}}`)
	a, _ := elements.Merge(elements.ConfigSource{JSON: typ}, elements.ConfigSource{JSON: []byte(`{"o":{"y":1}}`)})
	b, _ := elements.Merge(elements.ConfigSource{JSON: typ})
	a["o"].(map[string]any)["x"] = 99.0
	if b["o"].(map[string]any)["x"] != 1.0 {
		t.Error("merged configs share maps")
	}
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"SECRET": "s3cr3t", "HOST": "example.com"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg := map[string]any{
		"appSecret": "{{SECRET}}",
		"url":       "https://{{ HOST }}/x?y={{SECRET}}",
		"plain":     "no {braces} here",
		"n":         1.0,
		"o":         map[string]any{"missing": "{{NOPE}}"},
		"list":      []any{"a", "{{ALSO_MISSING}}", map[string]any{"k": "{{HOST}}"}},
		"notavar":   "{{1X}}",
	}
	probs := elements.ExpandEnv(cfg, lookup, "a/A.json")
	checkProblems(t, probs,
		"error a/A.json: list[1]: environment variable ALSO_MISSING is not set",
		"error a/A.json: o.missing: environment variable NOPE is not set",
	)
	if cfg["appSecret"] != "s3cr3t" || cfg["url"] != "https://example.com/x?y=s3cr3t" || cfg["plain"] != "no {braces} here" ||
		cfg["list"].([]any)[2].(map[string]any)["k"] != "example.com" || cfg["notavar"] != "{{1X}}" {
		t.Errorf("ExpandEnv = %v", cfg)
	}
	for _, p := range probs {
		if strings.Contains(p.Error(), "s3cr3t") {
			t.Errorf("problem leaks a value: %v", p)
		}
	}
}

var testSchema = elements.Schema{Fields: []elements.Field{
	{Name: "appId", Kind: elements.String, Required: true, Pattern: regexp.MustCompile(`^wx[0-9a-f]{16}$`), Hint: `"wx" followed by 16 hex digits`},
	{Name: "secret", Kind: elements.String, Required: true, Secret: true, Pattern: regexp.MustCompile(`^[0-9a-z]{8}$`), Hint: "8 letters or digits"},
	{Name: "scope", Kind: elements.String, Enum: []string{"snsapi_base", "snsapi_userinfo"}},
	{Name: "size", Kind: elements.Number},
	{Name: "on", Kind: elements.Bool},
	{Name: "o", Kind: elements.Object},
	{Name: "tags", Kind: elements.StringArray},
	{Name: "even", Kind: elements.Number, Check: func(v any) error {
		if int(v.(float64))%2 != 0 {
			return errors.New("must be even")
		}
		return nil
	}},
}}

func TestSchemaValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		probs []string
	}{
		{"valid", `{"appId":"wx0123456789abcdef","secret":"abcdefgh","scope":"snsapi_base","size":1,"on":true,"o":{},"tags":["a"],"even":2}`, nil},
		{"required missing, empty and null", `{"appId":"","secret":null}`, []string{
			"error a/A.json: appId: required",
			"error a/A.json: secret: required",
		}},
		{"enum", `{"appId":"wx0123456789abcdef","secret":"abcdefgh","scope":"snsapi_all"}`, []string{
			`error a/A.json: scope: must be one of "snsapi_base", "snsapi_userinfo"`,
		}},
		{"pattern shows value unless secret", `{"appId":"wx1","secret":"NOT-OK"}`, []string{
			`error a/A.json: appId: must be "wx" followed by 16 hex digits, not "wx1"`,
			`error a/A.json: secret: must be 8 letters or digits`,
		}},
		{"kinds", `{"appId":1,"secret":"abcdefgh","scope":true,"size":"1","on":"yes","o":[],"tags":["a",1],"even":3}`, []string{
			"error a/A.json: appId: must be a string",
			"error a/A.json: scope: must be a string",
			"error a/A.json: size: must be a number",
			"error a/A.json: on: must be true or false",
			"error a/A.json: o: must be an object",
			"error a/A.json: tags: [1] must be a string",
			"error a/A.json: even: must be even",
		}},
		{"tags not an array", `{"appId":"wx0123456789abcdef","secret":"abcdefgh","tags":"a"}`, []string{
			"error a/A.json: tags: must be an array of strings",
		}},
		{"unknown keys warn, sorted", `{"appId":"wx0123456789abcdef","secret":"abcdefgh","zz":1,"appid":2}`, []string{
			"warning a/A.json: appid: unknown key (ignored; did you mean appId?)",
			"warning a/A.json: zz: unknown key (ignored)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := elements.Merge(elements.ConfigSource{JSON: []byte(tc.cfg)})
			if err != nil {
				t.Fatal(err)
			}
			probs := testSchema.Validate(cfg, "a/A.json")
			checkProblems(t, probs, tc.probs...)
			if strings.Contains(strings.Join(problemStrings(probs), "\n"), "NOT-OK") {
				t.Error("secret value shown")
			}
		})
	}
	if f, ok := testSchema.Field("scope"); !ok || f.Kind != elements.String {
		t.Error("Field(scope)")
	}
	if _, ok := testSchema.Field("nope"); ok {
		t.Error("Field(nope)")
	}
}

func TestProblems(t *testing.T) {
	e := elements.Errorf("a/e.json", "type", "unknown type %s", "x")
	w := elements.Warnf("a/A.json", "", "odd")
	if e.Error() != "a/e.json: type: unknown type x" || w.Error() != "a/A.json: odd" {
		t.Errorf("Error() = %q, %q", e, w)
	}
	if !errors.Is(e, elements.ErrInvalid) || errors.Is(w, elements.ErrInvalid) {
		t.Error("errors.Is(ErrInvalid)")
	}
	ps := elements.Problems{w}
	if ps.HasErrors() || ps.Err() != nil {
		t.Error("warnings only must not be an error")
	}
	ps = append(ps, e)
	if !ps.HasErrors() || !errors.Is(ps.Err(), elements.ErrInvalid) || ps.Err().Error() != e.Error() {
		t.Errorf("Err() = %v", ps.Err())
	}
	for s, want := range map[elements.Severity]string{elements.SeverityError: "error", elements.SeverityWarning: "warning", elements.SeverityNotice: "notice"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s)
		}
	}
	for k, want := range map[elements.Kind]string{elements.KindMeta: "meta", elements.KindType: "type", elements.KindInstance: "instance", elements.KindInert: "inert", 0: "unknown"} {
		if b, _ := k.MarshalText(); string(b) != want {
			t.Errorf("Kind %d = %q", k, b)
		}
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want %q", want)
		}
		if s, _ := r.(string); s != want {
			t.Fatalf("panic %v, want %q", r, want)
		}
	}()
	f()
}

// registerDupOnce keeps TestRegistry repeatable with -count.
var registerDupOnce sync.Once

func TestRegistry(t *testing.T) {
	r := elements.NewRegistry()
	newObj := func() any { return new(struct{}) }
	r.Register(elements.TypeInfo{ID: "b.BType", New: newObj})
	r.Register(elements.TypeInfo{ID: "a.AType", New: newObj})
	if _, ok := r.Lookup("a.AType"); !ok {
		t.Error("Lookup")
	}
	if _, ok := r.Lookup("c.CType"); ok {
		t.Error("Lookup of an unregistered type")
	}
	if ids := r.IDs(); !slices.Equal(ids, []string{"a.AType", "b.BType"}) {
		t.Errorf("IDs = %v", ids)
	}
	mustPanic(t, "elements: RegisterType called twice for a.AType", func() { r.Register(elements.TypeInfo{ID: "a.AType", New: newObj}) })
	mustPanic(t, "elements: RegisterType with an empty ID", func() { r.Register(elements.TypeInfo{New: newObj}) })
	mustPanic(t, "elements: RegisterType c.CType: New is nil", func() { r.Register(elements.TypeInfo{ID: "c.CType"}) })
	// The default registry panics the same way on a duplicate.
	registerDupOnce.Do(func() { elements.RegisterType(elements.TypeInfo{ID: "test.elements.DupType", New: newObj}) })
	mustPanic(t, "elements: RegisterType called twice for test.elements.DupType", func() {
		elements.RegisterType(elements.TypeInfo{ID: "test.elements.DupType", New: newObj})
	})
	mustPanic(t, "elements: RegisterType with an empty ID", func() { elements.RegisterType(elements.TypeInfo{New: newObj}) })
}

type lifecycle struct {
	Name         string `json:"name"`
	failProvison bool
	failValidate bool
	provisioned  string
	cleanups     int
}

func (l *lifecycle) Provision(_ elements.Context, inst *elements.Instance) error {
	l.provisioned = inst.FullName()
	if l.failProvison {
		return errors.New("provision failed")
	}
	return nil
}

func (l *lifecycle) Validate() error {
	if l.failValidate {
		return errors.New("validate failed")
	}
	return nil
}

func (l *lifecycle) Cleanup() error { l.cleanups++; return nil }

func TestBuild(t *testing.T) {
	inst := &elements.Instance{Def: &elements.Definition{FullName: "a.X"}, Config: elements.NewConfig([]byte(`{"name":"n"}`))}
	if inst.Config.Get("name").String() != "n" || string(inst.Config.JSON()) != `{"name":"n"}` {
		t.Error("Config accessors")
	}
	var made *lifecycle
	info := elements.TypeInfo{ID: "a.LType", New: func() any { made = &lifecycle{}; return made }}
	obj, err := elements.Build(elements.NewContext(context.Background(), nil), info, inst)
	if err != nil {
		t.Fatal(err)
	}
	if l := obj.(*lifecycle); l.Name != "n" || l.provisioned != "a.X" || l.cleanups != 0 {
		t.Errorf("built %+v", l)
	}

	info.New = func() any { made = &lifecycle{failProvison: true}; return made }
	if _, err := elements.Build(elements.NewContext(context.Background(), nil), info, inst); err == nil || err.Error() != "provision failed" || made.cleanups != 1 {
		t.Errorf("failed provision: err %v, cleanups %d", err, made.cleanups)
	}
	info.New = func() any { made = &lifecycle{failValidate: true}; return made }
	if _, err := elements.Build(elements.NewContext(context.Background(), nil), info, inst); err == nil || err.Error() != "validate failed" || made.cleanups != 1 {
		t.Errorf("failed validate: err %v, cleanups %d", err, made.cleanups)
	}
	bad := &elements.Instance{Def: inst.Def, Config: elements.NewConfig([]byte(`{"name":1}`))}
	info.New = func() any { made = &lifecycle{}; return made }
	if _, err := elements.Build(elements.NewContext(context.Background(), nil), info, bad); err == nil || !strings.HasPrefix(err.Error(), "decoding config for a.LType: ") {
		t.Errorf("decode error: %v", err)
	}
	// No config at all decodes nothing.
	empty := &elements.Instance{Def: inst.Def}
	if _, err := elements.Build(elements.NewContext(context.Background(), nil), info, empty); err != nil {
		t.Errorf("empty config: %v", err)
	}
}

func TestMergeRejectsHugeNumbers(t *testing.T) {
	_, err := elements.Merge(elements.ConfigSource{File: "a/A.json", JSON: []byte(`{"o":{"list":[1,-1e400]}}`)})
	if err == nil || err.Error() != "a/A.json: o.list[1]: number out of range" {
		t.Errorf("Merge = %v", err)
	}
}
