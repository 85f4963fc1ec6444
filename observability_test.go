package jit_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitwx/jit"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHealthReadinessMetricsAndRequestLog(t *testing.T) {
	sim, env := repFakeWechat(t)
	logs := &lockedBuffer{}
	srv := startReplica(t, filepath.Join(t.TempDir(), "o.db"), env, jit.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))).srv

	if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Fatalf("readyz %d %s", code, body)
	}

	// One good login, one refused with a WeChat errcode.
	c := repBrowser()
	state, err := repStartLogin(t, c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	code := sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo")
	if status, _, _ := repFinishLogin(c, srv.URL, code, state); status != http.StatusFound {
		t.Fatalf("login: %d", status)
	}
	state2, _ := repStartLogin(t, c, srv.URL)
	if status, _, _ := repFinishLogin(c, srv.URL, "NOT-A-CODE", state2); status != http.StatusBadRequest {
		t.Fatalf("bad code: %d", status)
	}
	_, _ = get(t, srv.URL+"/auths/loginTypes/NoSuchLogin/callback?state=A&code=B")

	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`jit_login_attempts_total{element="auths.loginTypes.ShopLogin",errcode="0",outcome="ok"} 1`,
		`jit_login_attempts_total{element="auths.loginTypes.ShopLogin",errcode="40029",outcome="code_invalid"} 1`,
		`jit_login_attempts_total{element="unknown",errcode="0",outcome="login_type_not_found"} 1`,
		`jit_wechat_request_duration_seconds_count{endpoint="sns/oauth2/access_token",result="ok"} 1`,
		`jit_wechat_request_duration_seconds_count{endpoint="sns/oauth2/access_token",result="errcode_40029"} 1`,
		`jit_wechat_request_duration_seconds_count{endpoint="sns/userinfo",result="ok"} 1`,
		`jit_active_sessions 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}

	// One JSON line per request, with an id, the element, the outcome and
	// WeChat's errcode; never the code, state, token or secret.
	var callbacks []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "request" && strings.HasSuffix(rec["path"].(string), "/callback") {
			callbacks = append(callbacks, rec)
		}
	}
	if len(callbacks) != 3 {
		t.Fatalf("%d callback request lines, want 3:\n%s", len(callbacks), logs)
	}
	if r := callbacks[1]; r["element"] != "auths.loginTypes.ShopLogin" || r["outcome"] != "code_invalid" || r["errcode"] != float64(40029) || r["status"] != float64(400) || r["request_id"] == "" {
		t.Fatalf("refused callback logged as %v", r)
	}
	for _, secret := range []string{replicaSecret, code, state, "NOT-A-CODE"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains %q", secret)
		}
	}
}

// The metrics of two Apps in one process are their own.
func TestMetricsArePerApp(t *testing.T) {
	_, env := repFakeWechat(t)
	a := startReplica(t, filepath.Join(t.TempDir(), "a.db"), env).srv
	b := startReplica(t, filepath.Join(t.TempDir(), "b.db"), env).srv
	_, _ = get(t, a.URL+"/auths/loginTypes/ShopLogin/callback?state=AAAA")
	_, mb := get(t, b.URL+"/metrics")
	if strings.Contains(mb, "jit_login_attempts_total{") {
		t.Fatalf("B counted A's callback:\n%s", mb)
	}
}

func TestReadyzFailsWhenTheDatabaseIsGone(t *testing.T) {
	_, env := repFakeWechat(t)
	r := startReplica(t, filepath.Join(t.TempDir(), "gone.db"), env)
	srv := r.srv
	sqlDB, _ := r.app.DB().DB()
	sqlDB.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"database":"unreachable"`) {
		t.Fatalf("readyz with the database closed: %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d (the process is up)", code)
	}
}
