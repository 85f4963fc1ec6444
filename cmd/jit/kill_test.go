package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/jitwx/jit/auths/wechatsim"
)

const killAppID, killSecret = "wx0123456789abcdef", "KillTestSecret0123456789abcdefgh"

// buildJit compiles the command once for tests that run it as a process.
func buildJit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jit")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeKillApp starts a fake WeChat and writes a one-element app pointed
// at it; it returns the fake, the app's folder and the environment the
// server needs.
func writeKillApp(t *testing.T) (*wechatsim.Server, string, []string) {
	t.Helper()
	sim := wechatsim.New(wechatsim.WithApp(killAppID, killSecret))
	fake := httptest.NewServer(sim)
	t.Cleanup(fake.Close)
	fakeURL := fake.URL
	app := t.TempDir()
	el := filepath.Join(app, "auths", "loginTypes", "KillLogin")
	if err := os.MkdirAll(el, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"e.json": `{"title":"k","type":"auths.loginTypes.WechatPublicType"}`,
		"KillLogin.json": `{"appId":"` + killAppID + `","appSecret":"{{WECHAT_APP_SECRET}}",
			"authorizeUrl":"{{WECHAT_AUTHORIZE_URL}}","apiBaseUrls":["{{WECHAT_API_BASE}}"]}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(el, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sim, app, []string{"WECHAT_APP_SECRET=" + killSecret, "WECHAT_AUTHORIZE_URL=" + fakeURL + "/connect/oauth2/authorize", "WECHAT_API_BASE=" + fakeURL}
}

// httpBrowser is a client with its own cookie jar that stops at redirects.
func httpBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startKillLogin starts a login and returns the state WeChat would echo.
func startKillLogin(c *http.Client, base string) (string, error) {
	resp, err := c.Get(base + "/auths/loginTypes/KillLogin/login?redirectUrl=/ok")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", err
	}
	return loc.Query().Get("state"), nil
}

// startServer runs `jit serve` and returns its base URL once it listens.
func startServer(t *testing.T, bin, appDir, dbPath string, env []string) (*exec.Cmd, string) {
	t.Helper()
	// --login-rate 0: the test's hundred browsers share one loopback address.
	cmd := exec.Command(bin, "serve", "--app", appDir, "--addr", "127.0.0.1:0", "--db", dbPath, "--no-reload", "--log-format", "json",
		"--login-rate", "0")
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		if _, addr, ok := strings.Cut(lines.Text(), " on "); ok && strings.HasPrefix(lines.Text(), "jit: serving") {
			go func() {
				for lines.Scan() {
				}
			}()
			return cmd, strings.TrimSpace(addr)
		}
	}
	t.Fatal("server did not start")
	return nil, ""
}

// A server killed with SIGKILL in the middle of 100 concurrent logins
// restarts on the same SQLite file with every answered login intact and no
// duplicate rows.
func TestSIGKILLDuringLoginsLosesNothingAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	sim, app, env := writeKillApp(t)
	dbPath := filepath.Join(t.TempDir(), "kill.db")
	bin := buildJit(t)
	cmd, base := startServer(t, bin, app, dbPath, env)

	const logins = 100
	var answered sync.Map // openid → true once the callback answered 302
	const killAfter = 30  // answered callbacks before the kill
	var answeredN, killed atomic.Int32
	var wg sync.WaitGroup
	for i := range logins {
		u := wechatsim.User{Nickname: fmt.Sprintf("k%d", i)}
		u.OpenID = wechatsim.OpenIDForNickname(u.Nickname)
		sim.AddUser(u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := httpBrowser()
			state, err := startKillLogin(c, base)
			if err != nil {
				return
			}
			code := sim.IssueCode(killAppID, u.OpenID, "snsapi_userinfo")
			resp, err := c.Get(base + "/auths/loginTypes/KillLogin/callback?code=" + code + "&state=" + state)
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound && resp.Header.Get("Location") == "/ok" {
				answered.Store(u.OpenID, true)
				if answeredN.Add(1) == killAfter && killed.CompareAndSwap(0, 1) {
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}()
	}
	wg.Wait()
	if killed.Load() == 0 {
		_ = cmd.Process.Kill() // before Wait, which would otherwise never return
		_ = cmd.Wait()
		t.Fatal("the server was never killed")
	}
	_ = cmd.Wait()

	// Restart on the same file: it must open and serve.
	_, base2 := startServer(t, bin, app, dbPath, env)
	if resp, err := http.Get(base2 + "/api/elements"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("restarted server: %v", err)
	}
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, distinct int
	db.QueryRowContext(context.Background(), "SELECT COUNT(*), COUNT(DISTINCT open_id) FROM wechat_public_auth").Scan(&rows, &distinct)
	if rows != distinct {
		t.Fatalf("%d rows for %d users: duplicates", rows, distinct)
	}
	n := 0
	answered.Range(func(k, _ any) bool {
		n++
		var got int
		db.QueryRow("SELECT COUNT(*) FROM wechat_public_auth WHERE open_id = ?", k).Scan(&got)
		if got != 1 {
			t.Errorf("login of %s was answered 302 but has %d rows after the restart", k, got)
		}
		return true
	})
	t.Logf("%d of %d logins answered 302 before the kill, %d rows after restart", n, logins, rows)
	if n < killAfter {
		t.Fatalf("only %d answered logins checked", n)
	}
}

// SIGTERM stops accepting, lets an in-flight callback finish, and exits 0.
func TestSIGTERMFinishesInFlightCallbacks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	sim, app, env := writeKillApp(t)
	cmd, base := startServer(t, buildJit(t), app, filepath.Join(t.TempDir(), "term.db"), env)

	c := httpBrowser()
	state, err := startKillLogin(c, base)
	if err != nil {
		t.Fatal(err)
	}
	sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Delay: 700 * time.Millisecond})
	code := sim.IssueCode(killAppID, sim.Users()[0].OpenID, "snsapi_userinfo")

	done := make(chan int, 1)
	go func() {
		resp, err := c.Get(base + "/auths/loginTypes/KillLogin/callback?code=" + code + "&state=" + state)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for sim.Calls(wechatsim.EndpointAccessToken) == 0 { // the callback is now waiting on WeChat
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := <-done; status != http.StatusFound {
		t.Fatalf("in-flight callback during shutdown: %d, want 302", status)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}
