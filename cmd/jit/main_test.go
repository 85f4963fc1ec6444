package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runJit(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateReportsEachProblemOnOneLine(t *testing.T) {
	t.Setenv("JIT_CMD_TEST_SECRET", "abcdefabcdefabcdefabcdefabcdefab")
	code, out, errOut := runJit(t, "validate", "--app", "testdata/app", "--public-url", "http://10.0.0.1:8080/#/home")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errOut)
	}
	want := []string{
		`auths/loginTypes/BadLogin/BadLogin.json: appId: must be "wx" followed by 16 lowercase hex digits, not "wx123"`,
		`auths/loginTypes/BadLogin/BadLogin.json: scope: must be one of "snsapi_base", "snsapi_userinfo"`,
		`warning: auths/loginTypes/BadLogin/BadLogin.json: colour: unknown key (ignored)`,
		`note: pages/Home/e.json: type: no implementation in this runtime for type pages.NormalType; 1 element(s) kept inert (e.g. pages.Home)`,
		`warning: --public-url: http://10.0.0.1:8080/#/home is not https; WeChat pages should be served over https`,
		`warning: --public-url: port 8080: WeChat only redirects to ports 80 and 443 (errcode 10003)`,
		`warning: --public-url: 10.0.0.1 is an IP address: WeChat needs the registered 网页授权域名 (errcode 10003)`,
		`warning: --public-url: contains #: WeChat appends ?code=...&state=... before the fragment, which breaks hash routes`,
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("missing line %q in:\n%s", w, out)
		}
	}
	if strings.Contains(out, "abcdefabcdef") {
		t.Fatalf("a secret was printed:\n%s", out)
	}
	if errOut != "6 elements, 2 errors, 5 warnings\n" {
		t.Errorf("summary: %q", errOut)
	}
}

func TestValidateMissingSecretNamesTheVariable(t *testing.T) {
	code, out, _ := runJit(t, "validate", "--app", "testdata/app")
	if code != 1 || !strings.Contains(out, "auths/loginTypes/GoodLogin/GoodLogin.json: appSecret: environment variable JIT_CMD_TEST_SECRET is not set\n") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

// TestElementsTreeShowsKindsAndLayers also covers broken elements: they
// are listed under their type, marked broken with their first problem,
// and make the exit status 1, like validate.
func TestElementsTreeShowsKindsAndLayers(t *testing.T) {
	t.Setenv("JIT_CMD_TEST_SECRET", "abcdefabcdefabcdefabcdefabcdefab")
	code, out, errOut := runJit(t, "elements", "--app", "testdata/app")
	if code != 1 || errOut != "1 broken element(s); jit validate lists every problem\n" {
		t.Fatalf("exit %d, want 1: %q", code, errOut)
	}
	want := `auths.loginTypes.Meta  [meta, layer builtin  登录方式 (login type Meta)]
├─ auths.loginTypes.WeChatType  [type, layer builtin  微信扫码登录（网站应用）]
└─ auths.loginTypes.WechatPublicType  [type, layer builtin  微信公众号登录]
   ├─ auths.loginTypes.BadLogin  [broken: auths/loginTypes/BadLogin/BadLogin.json: appId: must be "wx" followed by 16 lowercase hex digits, not "wx123" (and 1 more)  坏登录]
   └─ auths.loginTypes.GoodLogin  [instance, layer app  好登录]
      └─ auths.loginTypes.GoodLogin.services.WechatPublicAuthSvc  [sub-element, layer app  services.WechatPublicAuthSvc]
pages.NormalType  [not loaded: no implementation in this runtime]
└─ pages.Home  [inert, layer app, type pages.NormalType  首页]
`
	if out != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", out, want)
	}
}

func TestNewWechatLoginScaffoldsAValidInstance(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runJit(t, "new", "wechat-login", "ShopLogin", "--app", dir, "--appid", "wx00112233445566ff")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "/auths/loginTypes/ShopLogin/login") {
		t.Errorf("output: %s", out)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "auths/loginTypes/ShopLogin/ShopLogin.json"))
	if err != nil || !strings.Contains(string(cfg), `"{{WECHAT_APP_SECRET}}"`) {
		t.Fatalf("config %s, %v", cfg, err)
	}
	t.Setenv("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdef")
	if code, out, errOut := runJit(t, "validate", "--app", dir); code != 0 || out != "" || errOut != "5 elements, 0 errors, 0 warnings\n" {
		t.Fatalf("scaffolded app does not load cleanly: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runJit(t, "new", "wechat-login", "ShopLogin", "--app", dir, "--appid", "wx00112233445566ff"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second scaffold: exit %d %s", code, errOut)
	}
	if code, _, errOut := runJit(t, "new", "wechat-login", "../x", "--app", dir); code == 0 || !strings.Contains(errOut, "must start with a letter") {
		t.Fatalf("bad name: exit %d %s", code, errOut)
	}
}

func TestNewWechatWebLoginScaffoldsAValidInstance(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runJit(t, "new", "wechat-web-login", "--app", dir, "--appid", "wx00112233445566ff", "ShopWeb")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"type auths.loginTypes.WeChatType", "authConfig.appId wx00112233445566ff", "$WECHAT_WEB_APP_SECRET",
		"/auths/loginTypes/ShopWeb/login", "授权回调域"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var e struct{ Title, Type string }
	raw, err := os.ReadFile(filepath.Join(dir, "auths/loginTypes/ShopWeb/e.json"))
	if err != nil || json.Unmarshal(raw, &e) != nil || e.Title != "微信扫码登录" || e.Type != "auths.loginTypes.WeChatType" {
		t.Fatalf("e.json %s, %v", raw, err)
	}
	var cfg map[string]map[string]string
	raw, err = os.ReadFile(filepath.Join(dir, "auths/loginTypes/ShopWeb/ShopWeb.json"))
	if err != nil || json.Unmarshal(raw, &cfg) != nil || len(cfg) != 1 ||
		cfg["authConfig"]["appId"] != "wx00112233445566ff" || cfg["authConfig"]["appSecret"] != "{{WECHAT_WEB_APP_SECRET}}" {
		t.Fatalf("config %s, %v", raw, err)
	}
	// The secret's variable is its own: the 公众号's does not stand in.
	t.Setenv("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdef")
	code, out, _ = runJit(t, "validate", "--app", dir)
	if code != 1 || !strings.Contains(out, "auths/loginTypes/ShopWeb/ShopWeb.json: authConfig.appSecret: environment variable WECHAT_WEB_APP_SECRET is not set\n") {
		t.Fatalf("validate without the secret: exit %d\n%s", code, out)
	}
	t.Setenv("WECHAT_WEB_APP_SECRET", "fedcba9876543210fedcba9876543210")
	if code, out, errOut := runJit(t, "validate", "--app", dir); code != 0 {
		t.Fatalf("scaffolded app does not validate: %s%s", out, errOut)
	}
	code, out, _ = runJit(t, "elements", "--app", dir)
	if code != 0 || !strings.Contains(out, "└─ auths.loginTypes.ShopWeb  [instance, layer app  微信扫码登录]\n") ||
		!strings.Contains(out, "auths.loginTypes.ShopWeb.services.WeChatAuthSvc") {
		t.Errorf("elements: exit %d\n%s", code, out)
	}
	// Both templates live side by side in one app.
	if code, _, errOut := runJit(t, "new", "wechat-login", "ShopLogin", "--app", dir, "--appid", "wx00112233445566ff"); code != 0 {
		t.Fatalf("wechat-login next to it: %s", errOut)
	}
	t.Setenv("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdef")
	if code, out, errOut := runJit(t, "validate", "--app", dir); code != 0 {
		t.Fatalf("app with both logins does not validate: %s%s", out, errOut)
	}
	if code, _, errOut := runJit(t, "new", "wechat-web-login", "ShopWeb", "--app", dir, "--appid", "wx00112233445566ff"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second scaffold: exit %d %s", code, errOut)
	}
	if code, _, errOut := runJit(t, "new", "wechat-web-login", "a-b", "--app", dir); code == 0 || !strings.Contains(errOut, "must start with a letter") {
		t.Fatalf("bad name: exit %d %s", code, errOut)
	}
}

func TestNewNamesItsTemplates(t *testing.T) {
	for _, args := range [][]string{{"new"}, {"new", "wechat-qr-login", "X"}} {
		code, _, errOut := runJit(t, args...)
		if code != 1 || !strings.Contains(errOut, "TEMPLATE is one of wechat-login, wechat-web-login") {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	code, _, errOut := runJit(t, "new", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: jit new TEMPLATE NAME") || !strings.Contains(errOut, "wechat-web-login") ||
		!strings.Contains(errOut, "$WECHAT_WEB_APP_SECRET") {
		t.Errorf("new --help: exit %d %s", code, errOut)
	}
	code, _, errOut = runJit(t, "new", "wechat-web-login", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: jit new wechat-web-login NAME") || !strings.Contains(errOut, "website app's AppID") {
		t.Errorf("new wechat-web-login --help: exit %d %s", code, errOut)
	}
	code, out, _ := runJit(t, "help")
	if code != 0 || !strings.Contains(out, "jit new wechat-login NAME") || !strings.Contains(out, "jit new wechat-web-login NAME") {
		t.Errorf("help: exit %d %s", code, out)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, cmd := range []string{"serve", "validate", "elements"} {
		code, _, errOut := runJit(t, cmd, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: jit "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, errOut)
		}
	}
	if code, _, _ := runJit(t); code != 2 {
		t.Errorf("no args: exit %d", code)
	}
	if code, _, errOut := runJit(t, "bogus"); code != 2 || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("bogus: exit %d %s", code, errOut)
	}
}

func TestServeRefusesDevModeOnAPublicHTTPSURL(t *testing.T) {
	code, _, errOut := runJit(t, "serve", "--addr", "127.0.0.1:0", "--public-url", "https://h5.example.com")
	if code != 1 || !strings.Contains(errOut, "refusing dev mode") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestElementsExitsZeroWhenNothingIsBroken(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runJit(t, "new", "wechat-login", "ShopLogin", "--app", dir, "--appid", "wx00112233445566ff"); code != 0 {
		t.Fatalf("scaffold: exit %d: %s", code, errOut)
	}
	t.Setenv("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdef")
	code, out, errOut := runJit(t, "elements", "--app", dir)
	if code != 0 || errOut != "" || strings.Contains(out, "broken") || !strings.Contains(out, "auths.loginTypes.ShopLogin  [instance") {
		t.Fatalf("exit %d, stderr %q, tree:\n%s", code, errOut, out)
	}
	// Without its secret the only login element is broken: listed, exit 1.
	// One typed by a misspelt type is listed on its own, not under it.
	os.Unsetenv("WECHAT_APP_SECRET")
	typo := filepath.Join(dir, "auths/loginTypes/TypoLogin/e.json")
	if err := os.MkdirAll(filepath.Dir(typo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(typo, []byte(`{"title": "错字", "type": "auths.loginTypes.WechatPublicTyp"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runJit(t, "elements", "--app", dir)
	if code != 1 || !strings.Contains(out, "   └─ auths.loginTypes.ShopLogin  [broken: auths/loginTypes/ShopLogin/ShopLogin.json: appSecret: environment variable WECHAT_APP_SECRET is not set") ||
		!strings.Contains(out, "\nauths.loginTypes.TypoLogin  [broken: auths/loginTypes/TypoLogin/e.json: type: unknown type auths.loginTypes.WechatPublicTyp") ||
		strings.Contains(out, "not loaded") || errOut != "2 broken element(s); jit validate lists every problem\n" {
		t.Fatalf("exit %d, stderr %q, tree:\n%s", code, errOut, out)
	}
}

func TestElementsUsageSaysBrokenExitsOne(t *testing.T) {
	code, _, errOut := runJit(t, "elements", "-h")
	if code != 0 || !strings.Contains(errOut, "exit status is 1") || !strings.Contains(errOut, "marked broken") {
		t.Fatalf("exit %d, usage:\n%s", code, errOut)
	}
}

// TestNewRequiresAValidAppID: both templates refuse a missing or malformed
// --appid with exit 2, in the words jit validate uses for a bad appId, and
// write nothing.
func TestNewRequiresAValidAppID(t *testing.T) {
	for _, tmpl := range []string{"wechat-login", "wechat-web-login"} {
		dir := t.TempDir()
		for _, c := range []struct {
			args []string
			want string
		}{
			{nil, `jit new: --appid is required: it must be "wx" followed by 16 lowercase hex digits` + "\n"},
			{[]string{"--appid", "wx123"}, `jit new: --appid: must be "wx" followed by 16 lowercase hex digits, not "wx123"` + "\n"},
			{[]string{"--appid", "wx00112233445566FF"}, `jit new: --appid: must be "wx" followed by 16 lowercase hex digits, not "wx00112233445566FF"` + "\n"},
		} {
			args := append([]string{"new", tmpl, "ShopLogin", "--app", dir}, c.args...)
			code, out, errOut := runJit(t, args...)
			if code != 2 || out != "" || errOut != c.want {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, %q", args, code, out, errOut, c.want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "auths")); !os.IsNotExist(err) {
			t.Errorf("%s: a refused scaffold wrote files (%v)", tmpl, err)
		}
	}
	// The wording is validate's own for the same value.
	code, out, _ := runJit(t, "validate", "--app", "testdata/app")
	if code != 1 || !strings.Contains(out, `appId: must be "wx" followed by 16 lowercase hex digits, not "wx123"`+"\n") {
		t.Fatalf("validate's wording changed: exit %d\n%s", code, out)
	}
}

// TestNewWritesJitAiKeysAndNextSteps: e.json carries JitAi's usual keys,
// and the output says what is left to do outside the app.
func TestNewWritesJitAiKeysAndNextSteps(t *testing.T) {
	for _, c := range []struct {
		tmpl, typ, title string
		want, not        []string
	}{
		{"wechat-login", "auths.loginTypes.WechatPublicType", "微信公众号登录",
			[]string{"export WECHAT_APP_SECRET=", "网页授权域名", "公众号", "MP_verify_*.txt", "public" + string(filepath.Separator)},
			[]string{"WECHAT_WEB_APP_SECRET"}},
		{"wechat-web-login", "auths.loginTypes.WeChatType", "微信扫码登录",
			[]string{"export WECHAT_WEB_APP_SECRET=", "open.weixin.qq.com", "授权回调域", "authorized callback domain"},
			[]string{"MP_verify", "export WECHAT_APP_SECRET="}},
	} {
		dir := t.TempDir()
		code, out, errOut := runJit(t, "new", c.tmpl, "Shop", "--app", dir, "--appid", "wx00112233445566ff")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.tmpl, code, errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.tmpl, w, out)
			}
		}
		for _, w := range c.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: output has %q:\n%s", c.tmpl, w, out)
			}
		}
		raw, err := os.ReadFile(filepath.Join(dir, "auths/loginTypes/Shop/e.json"))
		var e map[string]any
		if err != nil || json.Unmarshal(raw, &e) != nil {
			t.Fatalf("%s: e.json %s, %v", c.tmpl, raw, err)
		}
		want := map[string]any{"title": c.title, "type": c.typ, "allowRegister": 1.0, "backendBundleEntry": ".", "frontBundleEntry": "./Shop.json"}
		if len(e) != len(want) {
			t.Errorf("%s: e.json %s", c.tmpl, raw)
		}
		for k, v := range want {
			if e[k] != v {
				t.Errorf("%s: e.json %s = %v, want %v", c.tmpl, k, e[k], v)
			}
		}
		// It loads with no errors and no warnings: the keys are known ones.
		t.Setenv("WECHAT_APP_SECRET", "0123456789abcdef0123456789abcdef")
		t.Setenv("WECHAT_WEB_APP_SECRET", "fedcba9876543210fedcba9876543210")
		code, out, errOut = runJit(t, "validate", dir)
		if code != 0 || out != "" || errOut != "5 elements, 0 errors, 0 warnings\n" {
			t.Errorf("%s: validate: exit %d\n%s%s", c.tmpl, code, out, errOut)
		}
		// Still no overwriting, whatever the --appid.
		if code, _, errOut := runJit(t, "new", c.tmpl, "Shop", "--app", dir, "--appid", "wx0123456789abcdef"); code != 1 || !strings.Contains(errOut, "already exists") {
			t.Errorf("%s: second scaffold: exit %d %s", c.tmpl, code, errOut)
		}
	}
}

func TestValidateTakesTheFolderAsAnArgument(t *testing.T) {
	t.Setenv("JIT_CMD_TEST_SECRET", "abcdefabcdefabcdefabcdefabcdefab")
	_, wantOut, wantErr := runJit(t, "validate", "--app", "testdata/app")
	for _, args := range [][]string{
		{"validate", "testdata/app"},
		{"validate", "testdata/app", "--public-url", "https://h5.example.com"},
		{"validate", "--public-url", "https://h5.example.com", "testdata/app"},
		{"validate", "testdata/app", "--app", "testdata/app/"},
	} {
		code, out, errOut := runJit(t, args...)
		if code != 1 || out != wantOut || errOut != wantErr {
			t.Errorf("%v: exit %d\n%s%s\nwant:\n%s%s", args, code, out, errOut, wantOut, wantErr)
		}
	}
	empty := t.TempDir()
	code, _, errOut := runJit(t, "validate", "testdata/app", "--app", empty)
	if code != 1 || !strings.Contains(errOut, "two app folders") {
		t.Errorf("two folders: exit %d %s", code, errOut)
	}
	if code, _, errOut := runJit(t, "validate", "testdata/app", "x"); code != 1 || !strings.Contains(errOut, `unexpected argument "x"`) {
		t.Errorf("two arguments: exit %d %s", code, errOut)
	}
	code, out, errOut := runJit(t, "validate", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: jit validate [DIR | --app DIR]") || out != "" {
		t.Errorf("validate --help: exit %d %s", code, errOut)
	}
}

func TestValidateSaysAFolderHasNoElements(t *testing.T) {
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", empty}, {"validate", "--app", empty}} {
		code, out, errOut := runJit(t, args...)
		want := empty + " holds no elements (no element folders with an e.json, such as auths/loginTypes/NAME/e.json)\n"
		if code == 0 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	// An app whose only element is broken does have elements: its problem is shown.
	if code, out, _ := runJit(t, "new", "wechat-login", "Shop", "--app", empty, "--appid", "wx00112233445566ff"); code != 0 {
		t.Fatal(out)
	}
	t.Setenv("WECHAT_APP_SECRET", "") // restored afterwards
	os.Unsetenv("WECHAT_APP_SECRET")
	code, out, errOut := runJit(t, "validate", empty)
	if code != 1 || !strings.Contains(out, "WECHAT_APP_SECRET is not set") || strings.Contains(errOut, "no elements") {
		t.Errorf("broken only: exit %d\n%s%s", code, out, errOut)
	}
}
