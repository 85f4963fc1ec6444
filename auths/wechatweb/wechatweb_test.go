package wechatweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/elements"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "WebS3cretCanary9Qx7Zt3Wm5Yp1"
)

func TestAuthCodeURLShapeOrderAndEscaping(t *testing.T) {
	w := &Login{cfg: config{AuthConfig: authConfig{AppID: testAppID}, AuthorizeURL: "https://open.weixin.qq.com/connect/qrconnect"}}
	cb := "https://www.example.com/auths/loginTypes/X/callback?a=1&b=中 #x"
	got := w.AuthCodeURL(cb, "ABC123")
	want := "https://open.weixin.qq.com/connect/qrconnect?appid=wx0123456789abcdef" +
		"&redirect_uri=" + url.QueryEscape(cb) +
		"&response_type=code&scope=snsapi_login&state=ABC123#wechat_redirect"
	if got != want {
		t.Fatalf("AuthCodeURL:\n got %s\nwant %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != "appid,redirect_uri,response_type,scope,state" || u.Fragment != "wechat_redirect" {
		t.Fatalf("parameters %v, fragment %q", keys, u.Fragment)
	}
	if u.Query().Get("redirect_uri") != cb || strings.ContainsAny(u.RawQuery, " #中") {
		t.Fatalf("redirect_uri not escaped: %s", u.RawQuery)
	}
	// A state with odd characters (the flow's are letters and digits) is
	// escaped, never able to add a parameter.
	if got := w.AuthCodeURL("https://a/cb", "x&scope=snsapi_userinfo"); !strings.Contains(got, "&state=x%26scope%3Dsnsapi_userinfo#") {
		t.Fatalf("state not escaped: %s", got)
	}
	// A proxy's authorize URL with a query of its own keeps it.
	w.cfg.AuthorizeURL = "https://proxy.example.com/qrconnect?tenant=1"
	if got := w.AuthCodeURL("https://a/cb", "S"); !strings.HasPrefix(got, "https://proxy.example.com/qrconnect?tenant=1&appid=wx0123456789abcdef&redirect_uri=") {
		t.Fatalf("existing query not kept: %s", got)
	}
}

func TestSimulatePointsAtTheQRPage(t *testing.T) {
	tests := []struct{ browser, api, want string }{
		{"/_wechat", "http://127.0.0.1:8080/_wechat", "/_wechat/connect/qrconnect"},
		{"/app/_wechat", "http://127.0.0.1:8080/app/_wechat", "/app/_wechat/connect/qrconnect"},
	}
	for _, tc := range tests {
		got := simulate(tc.browser, tc.api)
		if got["authorizeUrl"] != tc.want || !reflect.DeepEqual(got["apiBaseUrls"], []any{tc.api}) {
			t.Errorf("simulate(%q, %q) = %v, want authorizeUrl %q", tc.browser, tc.api, got, tc.want)
		}
		// The values must pass the Type's own schema.
		if ps := schema.Validate(got, "patch"); len(ps) != 0 {
			t.Errorf("simulated values do not validate: %v", ps)
		}
	}
	var found bool
	for _, typ := range auths.Types() {
		found = found || (typ.ID == Type && typ.Simulate != nil)
	}
	if !found {
		t.Fatalf("%s is not registered with a Simulate func", Type)
	}
}

// jsonKeys lists the json keys of a struct type, embedded structs inlined.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			keys = append(keys, jsonKeys(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}

func fieldNames(s elements.Schema) []string {
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// TestOneStructDescribesTheConfig: config's tags are the schemas and the
// defaults; the built-in WeChatType.json no longer repeats them.
func TestOneStructDescribesTheConfig(t *testing.T) {
	if got, want := fieldNames(schema), jsonKeys(reflect.TypeFor[config]()); !slices.Equal(got, want) {
		t.Errorf("schema keys %v, config keys %v", got, want)
	}
	if got, want := fieldNames(authSchema), jsonKeys(reflect.TypeFor[authConfig]()); !slices.Equal(got, want) {
		t.Errorf("authSchema keys %v, authConfig keys %v", got, want)
	}
	raw, err := fs.ReadFile(auths.Builtin(), "auths/loginTypes/WeChatType/WeChatType.json")
	if err != nil {
		t.Fatal(err)
	}
	var builtin map[string]any
	if err := json.Unmarshal(raw, &builtin); err != nil {
		t.Fatal(err)
	}
	for k := range builtin {
		if _, ok := schema.Defaults()[k]; ok {
			t.Errorf("WeChatType.json repeats the default of %s", k)
		}
	}
	if _, ok := builtin["authConfig"]; ok {
		t.Error("the defaults hold credentials")
	}
	l, err := build(t, `{"authConfig": {"appId": "`+testAppID+`", "appSecret": "`+testSecret+`"}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := l.cfg; c.AuthorizeURL != "https://open.weixin.qq.com/connect/qrconnect" || !slices.Equal(c.APIBaseURLs, []string{"https://api.weixin.qq.com", "https://api2.weixin.qq.com"}) || c.Lang != "zh_CN" || c.LinkByUnionid != nil {
		t.Errorf("defaults decode to %+v", c)
	}
	if c := l.Service().Config(); c.Lang != "zh_CN" || len(c.APIBaseURLs) != 2 || c.Scope != Scope || c.LoginType != "auths.loginTypes.X" {
		t.Errorf("service config %+v", c)
	}
	if !l.Policy().LinkByUnionid {
		t.Error("linkByUnionid's default is not true")
	}
	e, err := fs.ReadFile(auths.Builtin(), "auths/loginTypes/WeChatType/e.json")
	if err != nil {
		t.Fatal(err)
	}
	var ej map[string]string
	if err := json.Unmarshal(e, &ej); err != nil {
		t.Fatal(err)
	}
	if ej["title"] != "微信扫码登录（网站应用）" || ej["type"] != "auths.loginTypes.Meta" || ej["goPackage"] != "github.com/jitwx/jit/auths/wechatweb" {
		t.Errorf("e.json = %v", ej)
	}
}

// build runs the element lifecycle on cfg as the runtime does after its
// schema check, for an app-layer instance X.
func build(t *testing.T, cfg string, host *elements.Host) (*Login, error) {
	t.Helper()
	var merged map[string]any
	if err := json.Unmarshal([]byte(cfg), &merged); err != nil {
		t.Fatal(err)
	}
	if ps := schema.Validate(merged, "X.json"); ps.HasErrors() {
		t.Fatalf("schema refused %s: %v", cfg, ps)
	}
	def := &elements.Definition{FullName: "auths.loginTypes.X", Dir: "auths/loginTypes/X", Layer: "app",
		Title: "扫码登录", Type: Type, EJSON: []byte(`{"title":"扫码登录","type":"auths.loginTypes.WeChatType"}`),
		ConfigFile: "auths/loginTypes/X/X.json", Config: []byte(cfg)}
	info, ok := elements.Default.Lookup(Type)
	if !ok {
		t.Fatal("Type not registered")
	}
	obj, err := elements.Build(elements.NewContext(context.Background(), host), info, &elements.Instance{Def: def, TypeChain: []string{Type}, Impl: Type,
		Config: elements.NewConfig([]byte(cfg)), ConfigFile: "auths/loginTypes/X/X.json"})
	if err != nil {
		return nil, err
	}
	return obj.(*Login), nil
}

func TestBrokenAuthConfigNamesFileAndField(t *testing.T) {
	tests := []struct {
		name, cfg, field, msg string
	}{
		{"no authConfig", `{}`, "authConfig.appId", "required"},
		{"no appId", `{"authConfig": {"appSecret": "` + testSecret + `"}}`, "authConfig.appId", "required"},
		{"empty appId", `{"authConfig": {"appId": "", "appSecret": "` + testSecret + `"}}`, "authConfig.appId", "required"},
		{"appId a number", `{"authConfig": {"appId": 123, "appSecret": "` + testSecret + `"}}`, "authConfig.appId", "must be a string"},
		{"appId an object", `{"authConfig": {"appId": {"x": 1}, "appSecret": "` + testSecret + `"}}`, "authConfig.appId", "must be a string"},
		{"appId malformed", `{"authConfig": {"appId": "wx123", "appSecret": "` + testSecret + `"}}`, "authConfig.appId", `"wx" followed by 16 lowercase hex digits`},
		{"no appSecret", `{"authConfig": {"appId": "` + testAppID + `"}}`, "authConfig.appSecret", "required"},
		{"appSecret a bool", `{"authConfig": {"appId": "` + testAppID + `", "appSecret": true}}`, "authConfig.appSecret", "must be a string"},
		{"appSecret malformed", `{"authConfig": {"appId": "` + testAppID + `", "appSecret": "short-secret!"}}`, "authConfig.appSecret", "16 to 64 letters and digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := build(t, tc.cfg, nil)
			var p *elements.Problem
			if !errors.As(err, &p) || l != nil {
				t.Fatalf("Build = %v, %v; want a *elements.Problem", l, err)
			}
			if p.File != "auths/loginTypes/X/X.json" || p.Field != tc.field || !strings.Contains(p.Msg, tc.msg) || !errors.Is(err, elements.ErrInvalid) {
				t.Errorf("problem %+v, want %s: %s: …%s…", p, "auths/loginTypes/X/X.json", tc.field, tc.msg)
			}
			if strings.Contains(err.Error(), "short-secret") {
				t.Errorf("the problem echoes the secret: %v", err)
			}
		})
	}
	// Both missing: both are in the error; the first names appId.
	_, err := build(t, `{"authConfig": {}}`, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "auths/loginTypes/X/X.json: authConfig.appId: required") ||
		!strings.Contains(err.Error(), "authConfig.appSecret: required") {
		t.Errorf("two problems: %v", err)
	}
	// authConfig not an object (the runtime's schema refuses it first; the
	// Type does not rely on that).
	var c config
	if err := json.Unmarshal([]byte(`{"authConfig": "wx0123456789abcdef"}`), &c); err != nil {
		t.Fatalf("decode of a non-object authConfig failed: %v", err)
	}
	if errs, _ := c.AuthConfig.check("X.json"); len(errs) != 1 || errs[0].Field != "authConfig" {
		t.Errorf("non-object authConfig: %v", errs)
	}
}

func TestUnknownAuthConfigKeyIsAWarning(t *testing.T) {
	var logs bytes.Buffer
	host := elements.NewHost(slog.New(slog.NewTextHandler(&logs, nil)))
	l, err := build(t, `{"authConfig": {"appId": "`+testAppID+`", "appSecret": "`+testSecret+`", "redirectUri": "x"}}`, host)
	if err != nil {
		t.Fatal(err)
	}
	if l.AppID() != testAppID || !strings.Contains(logs.String(), "authConfig.redirectUri: unknown key (ignored)") {
		t.Errorf("appId %q, logs %s", l.AppID(), logs.String())
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("logs hold the secret: %s", logs.String())
	}
}

func TestElementNeverPrintsTheSecret(t *testing.T) {
	var logs bytes.Buffer
	host := elements.NewHost(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l, err := build(t, `{"authConfig": {"appId": "`+testAppID+`", "appSecret": "`+testSecret+`"}, "linkByUnionid": false}`, host)
	if err != nil {
		t.Fatal(err)
	}
	if id, sec := l.SimulatorApp(); id != testAppID || sec != testSecret {
		t.Fatalf("SimulatorApp = %s, %s", id, sec)
	}
	if l.Policy().LinkByUnionid || !l.Policy().AllowRegister {
		t.Errorf("policy %+v", l.Policy())
	}
	pub := l.Public()
	if pub != (auths.PublicConfig{FullName: "auths.loginTypes.X", Type: Type, Title: "扫码登录", AppID: testAppID, Scope: "snsapi_login"}) {
		t.Errorf("Public = %+v", pub)
	}
	var out []string
	// (services.WechatConfig, l.Service().Config(), is the service's own
	// affair: it redacts in String, GoString and LogValue.)
	for _, v := range []any{l, *l, l.cfg, l.cfg.AuthConfig, l.Service()} {
		out = append(out, fmt.Sprint(v), fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v))
		b, err := json.Marshal(v)
		if err == nil {
			out = append(out, string(b))
		}
		slog.New(slog.NewTextHandler(&logs, nil)).Info("v", "v", v)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("v", "v", v)
	}
	out = append(out, logs.String())
	for _, s := range out {
		if strings.Contains(s, testSecret) {
			t.Errorf("the secret is printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(l), testAppID) {
		t.Errorf("String() = %s, want the appId", l)
	}
}
