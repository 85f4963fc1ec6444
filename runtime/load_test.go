package runtime_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatpublic"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/runtime"
	"github.com/jitwx/jit/services"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// dump describes a loaded app: layers, every element and every problem.
func dump(rt *runtime.Runtime) string {
	var b strings.Builder
	b.WriteString("# layers\n")
	for _, l := range rt.Layers() {
		fmt.Fprintf(&b, "%s\n", l.Name)
	}
	b.WriteString("# elements\n")
	for _, e := range rt.Snapshot().Entries() {
		fmt.Fprintf(&b, "%s %s layer=%s", e.FullName, e.Kind, e.Layer)
		if e.Type != "" {
			fmt.Fprintf(&b, " type=%s", e.Type)
		}
		if len(e.TypeChain) > 0 {
			fmt.Fprintf(&b, " chain=%s", strings.Join(e.TypeChain, ">"))
		}
		if e.Impl != "" {
			fmt.Fprintf(&b, " impl=%s", e.Impl)
		}
		if e.Parent != "" {
			fmt.Fprintf(&b, " parent=%s", e.Parent)
		}
		if len(e.Rewrites) > 0 {
			fmt.Fprintf(&b, " rewrites=%s", strings.Join(e.Rewrites, ","))
		}
		if e.Def != nil && e.Def.ConfigFile != "" && e.Parent == "" {
			fmt.Fprintf(&b, " config=%s", e.Def.ConfigFile)
		}
		fmt.Fprintf(&b, " object=%T\n", e.Object)
	}
	b.WriteString("# problems\n")
	for _, l := range problemLines(rt.Snapshot().Problems()) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// TestGolden loads every fixture app and compares the whole result with
// testdata/golden/<app>.txt. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	apps := []string{"good", "inherit/child", "rewrite-builtin", "jitai-export"}
	broken, _ := filepath.Glob(filepath.Join(appsDir, "broken", "*"))
	for _, b := range broken {
		apps = append(apps, "broken/"+filepath.Base(b))
	}
	for _, app := range apps {
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			got := dump(open(t, filepath.Join(appsDir, app)))
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(app, "/", "_")+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", app, golden, got, want)
			}
		})
	}
}

// TestBrokenApps asserts the exact problems of each broken fixture and that
// the rest of the app still loads.
func TestBrokenApps(t *testing.T) {
	tests := []struct {
		app      string
		env      func(string) (string, bool)
		problems []string
		live     []string // elements that must still be there
		gone     []string // broken elements that must not be
	}{
		{
			app:      "bad-ejson",
			problems: []string{"error things/Bad/e.json: not valid JSON: line 1, column 51: the file ends too early (a missing } or ]?)"},
			live:     []string{"things.Good"},
			gone:     []string{"things.Bad"},
		},
		{
			app:      "bad-config-json",
			problems: []string{"error things/Bad/Bad.json: not valid JSON: line 1, column 10: a value is missing after the colon"},
			gone:     []string{"things.Bad"},
		},
		{
			app:      "config-not-object",
			problems: []string{"error things/Bad/config.json: must be a JSON object"},
			gone:     []string{"things.Bad"},
		},
		{
			app: "missing-type",
			problems: []string{"error auths/loginTypes/Typo/e.json: type: unknown type auths.loginTypes.WechatPubicType " +
				"(did you mean auths.loginTypes.WechatPublicType?)"},
			live: []string{wechatpublic.Type},
			gone: []string{"auths.loginTypes.Typo"},
		},
		{
			app: "type-cycle",
			problems: []string{
				"error things/AType/e.json: type: things.BType is part of a type cycle",
				"error things/BType/e.json: type: cycle: things.AType → things.BType → things.AType",
				"error things/Uses/e.json: type: things.AType is part of a type cycle",
			},
			gone: []string{"things.AType", "things.BType", "things.Uses"},
		},
		{
			app:      "instance-type",
			problems: []string{"error things/Two/e.json: type: things.One is an instance, not a Type: an element's type must be a Meta or a Type"},
			live:     []string{"things.One", "things.One.services.Helper"},
			gone:     []string{"things.Two"},
		},
		{
			app:      "missing-required",
			problems: []string{"error auths/loginTypes/NoAppId/NoAppId.json: appId: required"},
			gone:     []string{"auths.loginTypes.NoAppId", "auths.loginTypes.NoAppId.services.WechatPublicAuthSvc"},
		},
		{
			app:      "wrong-enum",
			problems: []string{`error auths/loginTypes/BadScope/BadScope.json: scope: must be one of "snsapi_base", "snsapi_userinfo"`},
			gone:     []string{"auths.loginTypes.BadScope"},
		},
		{
			app: "wrong-value-type",
			problems: []string{
				"error things/W/W.json: size: must be a number",
				"error things/W/W.json: tags: must be an array of strings",
			},
			gone: []string{"things.W"},
		},
		{
			app:      "missing-env",
			env:      env(),
			problems: []string{"error auths/loginTypes/NoSecret/NoSecret.json: appSecret: environment variable WECHAT_APP_SECRET is not set"},
			gone:     []string{"auths.loginTypes.NoSecret"},
		},
		{
			app:      "unknown-key",
			problems: []string{"warning things/W/W.json: colour: unknown key (ignored; did you mean color?)"},
			live:     []string{"things.W"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.app, func(t *testing.T) {
			t.Parallel()
			var opts []runtime.Option
			if tc.env != nil {
				opts = append(opts, runtime.WithLookupEnv(tc.env))
			}
			rt := open(t, filepath.Join(appsDir, "broken", tc.app), opts...)
			snap := rt.Snapshot()
			if got := problemLines(snap.Problems()); !slices.Equal(got, tc.problems) {
				t.Errorf("problems:\n got  %q\n want %q", got, tc.problems)
			}
			for _, p := range snap.Problems() {
				if p.Element == "" {
					t.Errorf("problem %q does not name its element", p)
				}
			}
			for _, n := range tc.live {
				get(t, rt, n)
			}
			for _, n := range tc.gone {
				if _, ok := snap.Get(n); ok {
					t.Errorf("broken element %s is live", n)
				}
			}
			// The built-in layer is always there.
			get(t, rt, "auths.loginTypes.Meta")
		})
	}
}

func TestGoodApp(t *testing.T) {
	t.Parallel()
	rt := open(t, filepath.Join(appsDir, "good"))
	snap := rt.Snapshot()
	if got := problemLines(snap.Problems()); !slices.Equal(got, []string{
		"notice pages/Home/e.json: type: no implementation in this runtime for type pages.NormalType; 1 element(s) kept inert (e.g. pages.Home)",
	}) {
		t.Errorf("problems: %q", got)
	}

	kinds := map[string]elements.Kind{
		"demo.things.Meta":          elements.KindMeta,
		WidgetType:                  elements.KindType,
		"demo.things.BigWidgetType": elements.KindType,
		"demo.things.Red":           elements.KindInstance,
		"demo.things.Blue":          elements.KindInstance,
		"x.y.Z":                     elements.KindInstance,
		"x.y.Z.services.Svc":        elements.KindInstance,
		"pages.Home":                elements.KindInert,
		"auths.loginTypes.Meta":     elements.KindMeta,
		wechatpublic.Type:           elements.KindType,
	}
	for name, want := range kinds {
		if e := get(t, rt, name); e.Kind != want {
			t.Errorf("%s: kind %s, want %s", name, e.Kind, want)
		}
	}
	for _, name := range []string{"demo.things.Red.frontend", "demo.things.Red.backend", "public.widgets", "x", "x.y", "demo.things"} {
		if _, ok := snap.Get(name); ok {
			t.Errorf("%s must not be an element", name)
		}
	}

	// Instance over Type over parent Type, {{VAR}} expanded.
	red := widget(t, rt, "demo.things.Red")
	if want := (Widget{Size: 1, Color: "red", Label: "red one", Secret: "w1dget", Tags: []string{"a", "b"}}); red.Size != want.Size ||
		red.Color != want.Color || red.Label != want.Label || red.Secret != want.Secret || !slices.Equal(red.Tags, want.Tags) {
		t.Errorf("Red = %+v", red)
	}
	if !slices.Equal(red.chain, []string{WidgetType, "demo.things.Meta"}) || red.name != "demo.things.Red" {
		t.Errorf("Red chain %v name %s", red.chain, red.name)
	}
	blue := widget(t, rt, "demo.things.Blue")
	if blue.Size != 100 || blue.Color != "blue" || blue.Label != "default label" || !slices.Equal(blue.Tags, []string{"only"}) {
		t.Errorf("Blue = %+v", blue)
	}
	be := get(t, rt, "demo.things.Blue")
	if be.Impl != WidgetType || !slices.Equal(be.TypeChain, []string{"demo.things.BigWidgetType", WidgetType, "demo.things.Meta"}) {
		t.Errorf("Blue impl %s chain %v", be.Impl, be.TypeChain)
	}
	if be.Def.ConfigFile != "demo/things/Blue/config.json" || be.Def.Field("icon").String() != "blue-icon" {
		t.Errorf("Blue config file %q icon %q", be.Def.ConfigFile, be.Def.Field("icon"))
	}
	if z, svc := widget(t, rt, "x.y.Z"), widget(t, rt, "x.y.Z.services.Svc"); z.Size != 3 || svc.Size != 4 || svc.Label != "svc" {
		t.Errorf("Z %+v Svc %+v", z, svc)
	}

	// Sub-elements resolve through their instance.
	h := get(t, rt, "demo.things.Red.services.Helper")
	if helper, ok := h.Object.(*WidgetHelper); !ok || helper.Owner != red || h.Parent != "demo.things.Red" {
		t.Errorf("Red.services.Helper = %#v (parent %q)", h.Object, h.Parent)
	}

	// Metas, Types and inert elements are their definitions.
	home := get(t, rt, "pages.Home")
	if d, ok := home.Object.(*elements.Definition); !ok || d.ConfigFile != "pages/Home/Default.json" || home.Type != "pages.NormalType" {
		t.Errorf("pages.Home = %#v", home.Object)
	}
	if e := get(t, rt, wechatpublic.Type); e.Layer != "builtin" || len(e.Rewrites) != 0 {
		t.Errorf("builtin WechatPublicType layer %q rewrites %v", e.Layer, e.Rewrites)
	}
}

func TestInheritance(t *testing.T) {
	t.Parallel()
	rt := open(t, filepath.Join(appsDir, "inherit", "child"))
	var layers []string
	for _, l := range rt.Layers() {
		layers = append(layers, l.Name)
	}
	if want := []string{"app", "../parent", "../grandparent", "../other", "builtin"}; !slices.Equal(layers, want) {
		t.Fatalf("layers %v, want %v", layers, want)
	}
	if p := problemLines(rt.Snapshot().Problems()); len(p) != 0 {
		t.Errorf("problems: %q", p)
	}
	tests := []struct {
		name, layer, label, color string
		size                      float64
		rewrites                  []string
	}{
		{"demo.things.Shared", "app", "from child", "green", 2, []string{"../parent", "../grandparent", "../other"}},
		{"demo.things.ChildOnly", "app", "", "green", 2, nil},
		{"demo.things.ParentOnly", "../parent", "", "green", 2, nil},
		{"demo.things.GrandOnly", "../grandparent", "", "green", 7, nil},
		{"demo.things.OtherOnly", "../other", "other", "green", 2, nil},
	}
	for _, tc := range tests {
		e := get(t, rt, tc.name)
		w := e.Object.(*Widget)
		if e.Layer != tc.layer || w.Label != tc.label || w.Color != tc.color || w.Size != tc.size || !slices.Equal(e.Rewrites, tc.rewrites) {
			t.Errorf("%s: layer %q label %q color %q size %v rewrites %v; want %+v", tc.name, e.Layer, w.Label, w.Color, w.Size, e.Rewrites, tc)
		}
	}
	if e := get(t, rt, WidgetType); e.Layer != "../parent" || !slices.Equal(e.Rewrites, []string{"../grandparent"}) {
		t.Errorf("WidgetType layer %q rewrites %v", e.Layer, e.Rewrites)
	}
}

func TestExtendsProblems(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"a/app.json":  {Data: []byte(`{"extends":["../b","../missing",1]}`)},
		"b/app.json":  {Data: []byte(`{"extends":"../c"}`)},
		"c/app.json":  {Data: []byte(`{"extends":{"x":1}}`)},
		"d/app.json":  {Data: []byte(`{"extends":["../e"]}`)},
		"e/app.json":  {Data: []byte(`{"extends":["../d"]}`)},
		"f/app.json":  {Data: []byte(`{"extends":`)},
		"g/x/e.json":  {Data: []byte(`{}`)},
		"g/app.json":  {Data: []byte(`{"extends":["../../outside"]}`)},
		"b/k/e.json":  {Data: []byte(`{"title":"k"}`)},
		"c/k2/e.json": {Data: []byte(`{"title":"k2"}`)},
	}
	layers, probs, err := runtime.DiscoverLayers(fsys, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range layers {
		names = append(names, l.Name)
	}
	if want := []string{"app", "../b", "../c"}; !slices.Equal(names, want) {
		t.Errorf("layers %v, want %v", names, want)
	}
	want := []string{
		`error app.json: extends[2]: must be a parent app's folder path or {"appId": "<org>.<App>", "version": "..."}`,
		`error ../c/app.json: extends: must be a list of parent apps: folder paths or {"appId": "<org>.<App>", "version": "..."}`,
		`error app.json: extends: parent app "../missing" is not a folder`,
	}
	if got := problemLines(probs); !slices.Equal(got, want) {
		t.Errorf("extends problems:\n got  %q\n want %q", got, want)
	}

	if _, _, err := runtime.DiscoverLayers(fsys, "d", ""); !errors.Is(err, runtime.ErrExtendsCycle) {
		t.Errorf("cycle: %v", err)
	}
	if _, probs, _ := runtime.DiscoverLayers(fsys, "f", ""); !slices.Equal(problemLines(probs), []string{"error app.json: not valid JSON: line 1, column 12: the file ends too early (a missing } or ]?)"}) {
		t.Errorf("bad app.json: %q", problemLines(probs))
	}
	_, probs, err = runtime.DiscoverLayers(fsys, "g", "")
	if err != nil || !slices.Equal(problemLines(probs), []string{`error app.json: extends: parent app "../../outside" is outside the tree`}) {
		t.Errorf("outside: %v %q", err, problemLines(probs))
	}
	// On disk, a parent that is not a folder.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app", "app.json"), `{"extends":["../nope"]}`)
	_, probs, err = runtime.DiscoverLayers(os.DirFS(filepath.Join(dir, "app")), ".", filepath.Join(dir, "app"))
	if err != nil || !slices.Equal(problemLines(probs), []string{`error app.json: extends: parent app "../nope" is not a folder`}) {
		t.Errorf("missing parent on disk: %v %q", err, problemLines(probs))
	}
}

func TestRewriteBuiltin(t *testing.T) {
	t.Parallel()
	rt := open(t, filepath.Join(appsDir, "rewrite-builtin"))
	if p := problemLines(rt.Snapshot().Problems()); len(p) != 0 {
		t.Errorf("problems: %q", p)
	}
	typ := get(t, rt, wechatpublic.Type)
	if typ.Layer != "app" || !slices.Equal(typ.Rewrites, []string{"builtin"}) || typ.Title != "我的微信登录 (rewritten)" || typ.Kind != elements.KindType {
		t.Errorf("rewritten Type: layer %q rewrites %v title %q kind %s", typ.Layer, typ.Rewrites, typ.Title, typ.Kind)
	}
	my := get(t, rt, "auths.loginTypes.MyWechatType")
	if my.Kind != elements.KindType || my.Impl != wechatpublic.Type {
		t.Errorf("MyWechatType kind %s impl %q", my.Kind, my.Impl)
	}
	for _, tc := range []struct{ name, appID, scope, state string }{
		// MyWechatType's defaults over the rewritten Type's defaults.
		{"auths.loginTypes.MyLogin", "wx00000000000000aa", "snsapi_base", "mine"},
		{"auths.loginTypes.Direct", "wx00000000000000bb", "snsapi_userinfo", ""},
	} {
		e := get(t, rt, tc.name)
		login, ok := e.Object.(*wechatpublic.Login)
		if !ok {
			t.Fatalf("%s is %T", tc.name, e.Object)
		}
		if login.AppID() != tc.appID || login.Scope() != tc.scope || login.StateMarker() != tc.state || e.Impl != wechatpublic.Type {
			t.Errorf("%s: appId %q scope %q state %q impl %q", tc.name, login.AppID(), login.Scope(), login.StateMarker(), e.Impl)
		}
		if !strings.Contains(login.AuthCodeURL("https://example.com/cb", "x"), "&scope="+tc.scope+"&state="+tc.state+"x#wechat_redirect") {
			t.Errorf("%s: AuthorizeURL %s", tc.name, login.AuthCodeURL("https://example.com/cb", "x"))
		}
		svc := get(t, rt, tc.name+"."+wechatpublic.ServiceName)
		if s, ok := svc.Object.(*services.WechatPublicAuthSvc); !ok || s == nil || s != login.Service() {
			t.Errorf("%s.%s = %T", tc.name, wechatpublic.ServiceName, svc.Object)
		}
	}
}

func TestJitAiExport(t *testing.T) {
	t.Parallel()
	rt := open(t, filepath.Join(appsDir, "jitai-export"))
	snap := rt.Snapshot()
	want := []string{
		"notice auths/loginTypes/PasswordLogin/e.json: type: no implementation in this runtime for type auths.loginTypes.PasswordType; 1 element(s) kept inert (e.g. auths.loginTypes.PasswordLogin)",
		"notice caches/Default/e.json: type: no implementation in this runtime for type caches.LocalType; 1 element(s) kept inert (e.g. caches.Default)",
		"notice databases/Default/e.json: type: no implementation in this runtime for type databases.SqliteType; 1 element(s) kept inert (e.g. databases.Default)",
		"notice models/UserModel/e.json: type: no implementation in this runtime for type models.NormalType; 1 element(s) kept inert (e.g. models.UserModel)",
		"notice pages/HomePage/e.json: type: no implementation in this runtime for type pages.NormalType; 2 element(s) kept inert (e.g. pages.HomePage)",
		"notice roles/Admin/e.json: type: no implementation in this runtime for type roles.NormalType; 2 element(s) kept inert (e.g. roles.Admin)",
		"notice shells/MainShell/e.json: type: no implementation in this runtime for type shells.NormalType; 1 element(s) kept inert (e.g. shells.MainShell)",
		"notice storages/Default/e.json: type: no implementation in this runtime for type storages.LocalType; 1 element(s) kept inert (e.g. storages.Default)",
	}
	if got := problemLines(snap.Problems()); !slices.Equal(got, want) {
		t.Errorf("problems:\n got  %q\n want %q", got, want)
	}
	for _, name := range []string{"databases.Default", "models.UserModel", "pages.HomePage", "pages.LoginPage", "roles.Admin",
		"roles.Anonymous", "shells.MainShell", "caches.Default", "storages.Default", "auths.loginTypes.PasswordLogin"} {
		if e := get(t, rt, name); e.Kind != elements.KindInert {
			t.Errorf("%s: kind %s, want inert", name, e.Kind)
		}
	}
	pw := get(t, rt, "auths.loginTypes.PasswordLogin")
	if pw.Type != "auths.loginTypes.PasswordType" || !pw.Def.Field("allowRegister").Bool() || pw.Def.Field("icon").String() != "lock" ||
		pw.Def.Field("sort").Int() != 1 || pw.Def.Field("backendBundleEntry").String() != "." {
		t.Errorf("PasswordLogin: type %q e.json %s", pw.Type, pw.Def.EJSON)
	}
	if d := get(t, rt, "models.UserModel").Def; d.Field("variables.1.name").String() != "nickname" {
		t.Errorf("variables lost: %s", d.EJSON)
	}
	if d := get(t, rt, "pages.HomePage").Def; d.ConfigFile != "pages/HomePage/Default.json" || !strings.Contains(string(d.Config), "欢迎") {
		t.Errorf("frontBundleEntry config: %q %s", d.ConfigFile, d.Config)
	}
	if _, ok := snap.Get("pages.HomePage.frontend"); ok {
		t.Error("frontend/ became an element")
	}
	wx := get(t, rt, "auths.loginTypes.WxLogin")
	login, ok := wx.Object.(*wechatpublic.Login)
	if !ok || login.AppID() != "wx0123456789abcdef" || login.Scope() != "snsapi_userinfo" || wx.Def.Field("icon").String() != "wechat" {
		t.Fatalf("WxLogin = %#v", wx.Object)
	}
	svc := get(t, rt, "auths.loginTypes.WxLogin.services.WechatPublicAuthSvc")
	if s, ok := svc.Object.(*services.WechatPublicAuthSvc); !ok || s != login.Service() {
		t.Errorf("service = %T", svc.Object)
	}
	if strings.Contains(fmt.Sprint(login), "abcdef0123456789abcdef0123456789") {
		t.Error("String() leaks the secret")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	rt := open(t, filepath.Join(appsDir, "jitai-export"))
	snap := rt.Snapshot()
	tests := []struct {
		name string
		want []string
	}{
		{"auths.loginTypes.WxLogn", []string{"auths.loginTypes.WxLogin", "auths.loginTypes.Meta", "auths.loginTypes.PasswordLogin"}},
		{"auths.loginTypes.WxLogin.services.WechatPublicAuthSv", []string{"auths.loginTypes.WxLogin.services.WechatPublicAuthSvc"}},
		{"roles.Admn", []string{"roles.Admin"}},
		{"completely.different.name.here", nil},
	}
	for _, tc := range tests {
		if got := snap.Suggest(tc.name, 3); !slices.Equal(got, tc.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := snap.Suggest("pages.HomePag", 1); !slices.Equal(got, []string{"pages.HomePage"}) {
		t.Errorf("Suggest max 1 = %q", got)
	}
}

func TestGoOnlyTypeAndLayersFromFS(t *testing.T) {
	t.Parallel()
	// An in-memory app whose instance names a Type that exists only in Go.
	fsys := fstest.MapFS{
		"app/app.json":          {Data: []byte(`{"title":"mem"}`)},
		"app/w/One/e.json":      {Data: []byte(`{"type":"demo.things.WidgetType"}`)},
		"app/w/One/config.json": {Data: []byte(`{"size":5}`)},
		"app/w/FailType/e.json": {Data: []byte(`{"type":"demo.things.WidgetType"}`)},
		"app/w/Fail/e.json":     {Data: []byte(`{"type":"demo.things.WidgetType"}`)},
		"app/w/Fail/Fail.json":  {Data: []byte(`{"size":1,"failProvision":true}`)},
	}
	layers, probs, err := runtime.DiscoverLayers(fsys, "app", "")
	if err != nil || len(probs) != 0 {
		t.Fatal(err, probs)
	}
	rt, err := runtime.New(context.Background(), layers, nil, runtime.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if w := widget(t, rt, "w.One"); w.Size != 5 {
		t.Errorf("w.One = %+v", w)
	}
	if e := get(t, rt, "w.FailType"); e.Kind != elements.KindType {
		t.Errorf("w.FailType kind %s", e.Kind)
	}
	if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, []string{"error w/Fail/Fail.json: provision refused"}) {
		t.Errorf("problems %q", got)
	}
	if rt.Snapshot().Len() != len(rt.Snapshot().Entries()) {
		t.Errorf("Len %d, Entries %d", rt.Snapshot().Len(), len(rt.Snapshot().Entries()))
	}
}

func TestIsolatedRegistry(t *testing.T) {
	t.Parallel()
	reg := elements.NewRegistry()
	type thing struct {
		V string `json:"v"`
	}
	reg.Register(elements.TypeInfo{ID: "iso.ThingType", New: func() any { return new(thing) }})
	fsys := fstest.MapFS{
		"iso/ThingType/e.json": {Data: []byte(`{"type":"iso.Meta"}`)},
		"iso/Meta/e.json":      {Data: []byte(`{}`)},
		"iso/T/e.json":         {Data: []byte(`{"type":"iso.ThingType"}`)},
		"iso/T/T.json":         {Data: []byte(`{"v":"x"}`)},
		"iso/W/e.json":         {Data: []byte(`{"type":"demo.things.WidgetType"}`)},
	}
	rt, err := runtime.New(context.Background(), []runtime.Layer{{Name: "app", FS: fsys}}, nil,
		runtime.WithRegistry(reg), runtime.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if th, ok := get(t, rt, "iso.T").Object.(*thing); !ok || th.V != "x" {
		t.Errorf("iso.T = %#v", get(t, rt, "iso.T").Object)
	}
	// WidgetType is not in this registry: its instance is inert.
	if e := get(t, rt, "iso.W"); e.Kind != elements.KindInert {
		t.Errorf("iso.W kind %s", e.Kind)
	}
}

// Using an official Type without importing the Go package that registers
// it is a load error naming the import, as database/sql does for drivers.
// The package comes from the Type folder's e.json "goPackage": the runtime
// itself names no product, and any Type (here a third party's) can say it.
func TestForgottenImportOfAnOfficialType(t *testing.T) {
	t.Parallel()
	app := fstest.MapFS{
		"auths/loginTypes/L/e.json":      {Data: []byte(`{"type":"auths.loginTypes.WechatPublicType"}`)},
		"auths/loginTypes/M/e.json":      {Data: []byte(`{"type":"auths.loginTypes.MyType"}`)},
		"auths/loginTypes/MyType/e.json": {Data: []byte(`{"type":"auths.loginTypes.WechatPublicType"}`)},
	}
	thirdParty := fstest.MapFS{
		"auths/loginTypes/Meta/e.json":     {Data: []byte(`{"title":"meta"}`)},
		"auths/loginTypes/AcmeType/e.json": {Data: []byte(`{"type":"auths.loginTypes.Meta","goPackage":"example.com/acme/login"}`)},
		"auths/loginTypes/A/e.json":        {Data: []byte(`{"type":"auths.loginTypes.AcmeType"}`)},
	}
	const forgotten = `auths.loginTypes.WechatPublicType has no Go implementation registered: forgotten import of "github.com/jitwx/jit/auths/wechatpublic"?`
	for name, tc := range map[string]struct {
		layers []runtime.Layer
		want   []string
	}{
		"with the built-in folders": {[]runtime.Layer{{Name: "app", FS: app}, {Name: "builtin", FS: auths.Builtin()}}, []string{
			"error auths/loginTypes/L/e.json: type: " + forgotten,
			"error auths/loginTypes/M/e.json: type: " + forgotten,
		}},
		"a third party's Type": {[]runtime.Layer{{Name: "app", FS: thirdParty}}, []string{
			`error auths/loginTypes/A/e.json: type: auths.loginTypes.AcmeType has no Go implementation registered: forgotten import of "example.com/acme/login"?`,
		}},
	} {
		layers, want := tc.layers, tc.want
		rt, err := runtime.New(context.Background(), layers, nil, runtime.WithRegistry(elements.NewRegistry()), runtime.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range problemLines(rt.Snapshot().Problems()) {
			if strings.HasPrefix(l, "error auths/loginTypes/") {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: problems\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
