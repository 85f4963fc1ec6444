package jit_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit"
)

// A deploy that moves the app folder away keeps the logins serving from
// the last good elements, takes the replica out of rotation ("app folder
// missing") until the folder is back, and then reads the new folder.
func TestReadyzWhileAppFolderMissing(t *testing.T) {
	dir := brokenApp(t, map[string]string{"GoodLogin": goodLoginJSON})
	app := openBroken(t, dir, jit.WithDebounce(20*time.Millisecond))
	h := app.Handler()
	readyz := func() (int, string) {
		code, _, body := serveBroken(t, h, "/readyz", "")
		return code, body
	}
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", code, body)
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz 503 with app folder missing", func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"folder":"app folder missing: `+filepath.Base(dir)+`"`) && !strings.Contains(body, dir)
	})
	if code, _, body := serveBroken(t, h, "/auths/loginTypes/GoodLogin/login", ""); code != http.StatusFound {
		t.Errorf("login while the folder is missing: %d %s", code, body)
	}
	if err := os.Rename(dir+".old", dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz 200 once the folder is back", func() bool { code, _ := readyz(); return code == http.StatusOK })
}

// /api/elements lists broken elements too, marked broken: broken is not
// absent. The problem itself stays off this public route.
func TestAPIElementsListsBroken(t *testing.T) {
	dir := brokenApp(t, map[string]string{"GoodLogin": goodLoginJSON, "BadLogin": badLoginJSON})
	app := openBroken(t, dir, jit.WithoutReload())
	code, _, body := serveBroken(t, app.Handler(), "/api/elements", "")
	if code != http.StatusOK {
		t.Fatalf("/api/elements: %d %s", code, body)
	}
	var rows []jit.ElementInfo
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		t.Fatal(err)
	}
	byName := map[string]jit.ElementInfo{}
	for _, r := range rows {
		byName[r.FullName] = r
	}
	if bad, ok := byName["auths.loginTypes.BadLogin"]; !ok || !bad.Broken || bad.Type != "auths.loginTypes.WechatPublicType" {
		t.Errorf("BadLogin row: %+v (present %v)", bad, ok)
	}
	if good := byName["auths.loginTypes.GoodLogin"]; good.Broken || good.Kind.String() != "instance" {
		t.Errorf("GoodLogin row: %+v", good)
	}
	if strings.Contains(body, "wx123") || strings.Contains(body, "appId") {
		t.Errorf("/api/elements shows a problem: %s", body)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An edited extends applies live in an opened app: a parent added to
// app.json serves its elements without a restart.
func TestOpenAppliesExtendsLive(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "app")
	writeFiles(t, dir, map[string]string{"app.json": `{"title": "子应用"}`})
	writeFiles(t, filepath.Join(base, "parent"), map[string]string{
		"auths/loginTypes/ParentLogin/e.json":           `{"title": "父应用登录", "type": "auths.loginTypes.WechatPublicType"}`,
		"auths/loginTypes/ParentLogin/ParentLogin.json": goodLoginJSON,
	})
	app := openBroken(t, dir, jit.WithDebounce(20*time.Millisecond))
	if _, err := app.GetElement("auths.loginTypes.ParentLogin"); !errors.Is(err, jit.ErrElementNotFound) {
		t.Fatalf("before: %v", err)
	}
	writeFiles(t, dir, map[string]string{"app.json": `{"title": "子应用", "extends": ["../parent"]}`})
	waitFor(t, "the parent's login element", func() bool { _, err := app.GetElement("auths.loginTypes.ParentLogin"); return err == nil })
	if code, _, body := serveBroken(t, app.Handler(), "/auths/loginTypes/ParentLogin/login", ""); code != http.StatusFound {
		t.Errorf("the parent's login route: %d %s", code, body)
	}
}
