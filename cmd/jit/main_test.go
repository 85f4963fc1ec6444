package main

import (
	"bytes"
	"context"
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
	if errOut != "5 elements, 2 errors, 5 warnings\n" {
		t.Errorf("summary: %q", errOut)
	}
}

func TestValidateMissingSecretNamesTheVariable(t *testing.T) {
	code, out, _ := runJit(t, "validate", "--app", "testdata/app")
	if code != 1 || !strings.Contains(out, "auths/loginTypes/GoodLogin/GoodLogin.json: appSecret: environment variable JIT_CMD_TEST_SECRET is not set\n") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestElementsTreeShowsKindsAndLayers(t *testing.T) {
	t.Setenv("JIT_CMD_TEST_SECRET", "abcdefabcdefabcdefabcdefabcdefab")
	code, out, errOut := runJit(t, "elements", "--app", "testdata/app")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `auths.loginTypes.Meta  [meta, layer builtin  登录方式 (login type Meta)]
└─ auths.loginTypes.WechatPublicType  [type, layer builtin  微信公众号登录]
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
	if code, out, _ := runJit(t, "validate", "--app", dir); code != 0 {
		t.Fatalf("scaffolded app does not validate: %s", out)
	}
	if code, _, errOut := runJit(t, "new", "wechat-login", "ShopLogin", "--app", dir); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second scaffold: exit %d %s", code, errOut)
	}
	if code, _, errOut := runJit(t, "new", "wechat-login", "../x", "--app", dir); code == 0 || !strings.Contains(errOut, "must start with a letter") {
		t.Fatalf("bad name: exit %d %s", code, errOut)
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
