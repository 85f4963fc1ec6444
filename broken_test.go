package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/elements"
)

// "Broken is not absent": an element that exists but has errors and never
// had a good version is reported as broken everywhere, not as missing.

const (
	brokenSecret  = "0123456789abcdef0123456789abcdef"
	goodLoginJSON = `{"appId": "wx0123456789abcdef", "appSecret": "{{BROKEN_TEST_SECRET}}", "scope": "snsapi_base"}`
	badLoginJSON  = `{"appId": "wx123", "appSecret": "{{BROKEN_TEST_SECRET}}", "scope": "snsapi_base"}`
	brokenMessage = "这种登录方式的配置有误，暂时无法使用。"
)

func brokenEnv(name string) (string, bool) {
	if name == "BROKEN_TEST_SECRET" {
		return brokenSecret, true
	}
	return "", false
}

// brokenApp writes an app with the login elements given (name → config).
func brokenApp(t *testing.T, logins map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"app.json": `{"title": "坏了测试"}`}
	for name, cfg := range logins {
		files["auths/loginTypes/"+name+"/e.json"] = `{"title": "` + name + `", "type": "auths.loginTypes.WechatPublicType"}`
		files["auths/loginTypes/"+name+"/"+name+".json"] = cfg
	}
	writeFiles(t, dir, files)
	return dir
}

func openBroken(t *testing.T, dir string, opts ...jit.Option) *jit.App {
	t.Helper()
	opts = append([]jit.Option{jit.WithDatabase(filepath.Join(t.TempDir(), "b.db")), jit.WithLookupEnv(brokenEnv),
		jit.WithLogger(quietLogger())}, opts...)
	app, err := jit.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

func serveBroken(t *testing.T, h http.Handler, path, accept string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header(), string(body)
}

func TestBrokenLoginElementAnswers503(t *testing.T) {
	logs := &lockedBuffer{}
	dir := brokenApp(t, map[string]string{"GoodLogin": goodLoginJSON, "BadLogin": badLoginJSON})
	app := openBroken(t, dir, jit.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))), jit.WithoutReload())

	for _, route := range []string{"/auths/loginTypes/BadLogin/login", "/auths/loginTypes/BadLogin/callback?state=A&code=B"} {
		code, _, body := serveBroken(t, app.Handler(), route, "application/json")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("%s: %d %s", route, code, body)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: not JSON: %s", route, body)
		}
		if got["code"] != "element_broken" || got["message"] != brokenMessage || len(got) != 2 {
			t.Fatalf("%s: body %s", route, body)
		}
	}
	// The callback is counted under the broken element's name, not "unknown".
	if _, _, metrics := serveBroken(t, app.Handler(), "/metrics", ""); !strings.Contains(metrics,
		`jit_login_attempts_total{element="auths.loginTypes.BadLogin",errcode="0",outcome="element_broken"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(metrics, "jit_login_attempts_total"))
	}
	// A browser navigation gets the Chinese page, with the same status.
	code, hdr, page := serveBroken(t, app.Handler(), "/auths/loginTypes/BadLogin/login", "text/html,application/xhtml+xml,*/*;q=0.8")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(page, brokenMessage) {
		t.Fatalf("browser: %d %s %s", code, hdr.Get("Content-Type"), page)
	}
	// The detail is in the log only.
	problem := `auths/loginTypes/BadLogin/BadLogin.json: appId: must be "wx" followed by 16 lowercase hex digits, not "wx123"`
	for _, leaked := range []string{"wx123", "BadLogin.json", "appId"} {
		if strings.Contains(page, leaked) {
			t.Errorf("the page shows %q:\n%s", leaked, page)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"login element is broken"`) || !strings.Contains(logs.String(), jsonQuoted(problem)) {
		t.Errorf("the log lacks the problem %q:\n%s", problem, logs.String())
	}

	// Absent stays absent; healthy stays healthy.
	if code, _, body := serveBroken(t, app.Handler(), "/auths/loginTypes/NoSuchLogin/login", "application/json"); code != http.StatusNotFound ||
		!strings.Contains(body, "login_type_not_found") {
		t.Fatalf("unknown login: %d %s", code, body)
	}
	if code, _, body := serveBroken(t, app.Handler(), "/auths/loginTypes/GoodLogin/login", "application/json"); code != http.StatusFound {
		t.Fatalf("good login: %d %s", code, body)
	}
}

// jsonQuoted is s as it appears inside a JSON log string.
func jsonQuoted(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestGetElementOfABrokenElementIsErrElementBroken(t *testing.T) {
	dir := brokenApp(t, map[string]string{"GoodLogin": goodLoginJSON, "BadLogin": badLoginJSON})
	app := openBroken(t, dir, jit.WithoutReload())

	for _, name := range []string{"auths.loginTypes.BadLogin", "auths.loginTypes.BadLogin.services.WechatPublicAuthSvc"} {
		_, err := app.GetElement(name)
		if !errors.Is(err, jit.ErrElementBroken) || errors.Is(err, jit.ErrElementNotFound) {
			t.Fatalf("%s: %v", name, err)
		}
		var be *jit.BrokenError
		if !errors.As(err, &be) || be.Name != name || be.Element != "auths.loginTypes.BadLogin" {
			t.Fatalf("%s: %#v", name, err)
		}
		var p *elements.Problem
		if !errors.As(err, &p) || p.File != "auths/loginTypes/BadLogin/BadLogin.json" || p.Field != "appId" || !strings.Contains(p.Msg, `not "wx123"`) {
			t.Fatalf("%s: problem %+v", name, p)
		}
		if !strings.Contains(err.Error(), `auths/loginTypes/BadLogin/BadLogin.json: appId: must be "wx"`) {
			t.Errorf("%s: message %q", name, err)
		}
	}
	if _, err := app.GetElement("auths.loginTypes.NoSuchLogin"); !errors.Is(err, jit.ErrElementNotFound) || errors.Is(err, jit.ErrElementBroken) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := app.GetElement("auths.loginTypes.GoodLogin"); err != nil {
		t.Fatal(err)
	}
}

type readyBody struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Problems int               `json:"problems"`
	Broken   []string          `json:"broken"`
	Stale    []string          `json:"stale"`
}

func readyzOf(t *testing.T, app *jit.App) (int, readyBody) {
	t.Helper()
	code, _, body := serveBroken(t, app.Handler(), "/readyz", "")
	var rb readyBody
	if err := json.Unmarshal([]byte(body), &rb); err != nil {
		t.Fatalf("readyz: %s", body)
	}
	return code, rb
}

func TestReadyzNotReadyWhileAnElementNeverHadAGoodVersion(t *testing.T) {
	dir := brokenApp(t, map[string]string{"OnlyLogin": badLoginJSON})
	reloaded := make(chan error, 16)
	app := openBroken(t, dir, jit.WithDebounce(5*time.Millisecond), jit.WithReloadHook(func(err error) { reloaded <- err }))

	code, rb := readyzOf(t, app)
	if code != http.StatusServiceUnavailable || rb.Status != "not_ready" || len(rb.Broken) != 1 || rb.Broken[0] != "auths.loginTypes.OnlyLogin" ||
		!strings.Contains(rb.Checks["elements"], "auths.loginTypes.OnlyLogin") {
		t.Fatalf("broken since startup: %d %+v", code, rb)
	}

	cfg := filepath.Join(dir, "auths/loginTypes/OnlyLogin/OnlyLogin.json")
	rewrite := func(body string, ok func() bool) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
		for !ok() {
			select {
			case <-reloaded:
			case <-deadline:
				t.Fatalf("no reload to %s; problems %v", body, app.Problems())
			}
		}
	}
	rewrite(goodLoginJSON, func() bool { _, err := app.GetElement("auths.loginTypes.OnlyLogin"); return err == nil })
	if code, rb := readyzOf(t, app); code != http.StatusOK || rb.Status != "ready" || len(rb.Broken) != 0 || len(rb.Stale) != 0 {
		t.Fatalf("fixed: %d %+v", code, rb)
	}

	// Broken again by an edit: the last good version serves, and the
	// replica stays ready, saying which element is stale.
	rewrite(badLoginJSON, func() bool { return app.Problems().HasErrors() })
	code, rb = readyzOf(t, app)
	if code != http.StatusOK || rb.Status != "ready" || len(rb.Broken) != 0 || len(rb.Stale) != 1 || rb.Stale[0] != "auths.loginTypes.OnlyLogin" || rb.Problems != 1 {
		t.Fatalf("serving the last good version: %d %+v", code, rb)
	}
	if _, err := app.GetElement("auths.loginTypes.OnlyLogin"); err != nil {
		t.Fatalf("last good version: %v", err)
	}
	if code, _, body := serveBroken(t, app.Handler(), "/auths/loginTypes/OnlyLogin/login", "application/json"); code != http.StatusFound {
		t.Fatalf("the last good version's login: %d %s", code, body)
	}
}

func TestOpenLogsEachProblemOnce(t *testing.T) {
	logs := &lockedBuffer{}
	dir := brokenApp(t, map[string]string{
		"GoodLogin": goodLoginJSON,
		// Two errors and a warning in one element.
		"BadLogin": `{"appId": "wx123", "appSecret": "{{BROKEN_TEST_SECRET}}", "scope": "snsapi_all", "colour": "red"}`,
		// An element folder whose e.json cannot be read at all.
		"Unreadable": goodLoginJSON,
	})
	writeFiles(t, dir, map[string]string{"auths/loginTypes/Unreadable/e.json": `{"type":`})
	app := openBroken(t, dir, jit.WithoutReload(), jit.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))

	probs := app.Problems()
	if len(probs) < 4 {
		t.Fatalf("expected at least 4 problems, got %v", probs)
	}
	type line struct {
		Msg     string `json:"msg"`
		Element string `json:"element"`
		Problem string `json:"problem"`
	}
	count := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var ln line
		if json.Unmarshal([]byte(l), &ln) == nil && ln.Problem != "" {
			count[ln.Problem]++
		}
	}
	for _, p := range probs {
		if n := count[p.Error()]; n != 1 {
			t.Errorf("problem %q logged %d times; log:\n%s", p.Error(), n, logs.String())
		}
	}
	if len(count) != len(probs) {
		t.Errorf("logged %d problems, Problems has %d:\n%s", len(count), len(probs), logs.String())
	}
	if !app.Problems().HasErrors() {
		t.Fatal("no errors")
	}
}
