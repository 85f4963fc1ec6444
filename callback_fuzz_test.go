package jit_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitwx/jit/auths/wechatsim"
)

// FuzzCallbackParams sends any state, code and cookie to the callback: the
// answer is a 4xx JSON error, never a 5xx, and no code reaches WeChat
// without a state this server issued to this browser.
func FuzzCallbackParams(f *testing.F) {
	sim := wechatsim.New(wechatsim.WithApp(replicaAppID, replicaSecret))
	fake := httptest.NewServer(sim)
	f.Cleanup(fake.Close)
	env := map[string]string{"WECHAT_APP_SECRET": replicaSecret, "WECHAT_AUTHORIZE_URL": fake.URL + "/connect/oauth2/authorize", "WECHAT_API_BASE": fake.URL}
	h := startReplica(f, filepath.Join(f.TempDir(), "fuzz.db"), env).app.Handler()

	f.Add("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "CODE", "BINDING")
	f.Add("", "", "")
	f.Add("state with spaces", "code&x=1", "a;b")
	f.Add(strings.Repeat("A", 200), strings.Repeat("c", 600), strings.Repeat("b", 100))
	f.Add("%00", "%ff", "\x00")
	f.Fuzz(func(t *testing.T, state, code, cookie string) {
		before := sim.Calls(wechatsim.EndpointAccessToken)
		q := url.Values{"state": {state}, "code": {code}}
		req := httptest.NewRequest(http.MethodGet, "/auths/loginTypes/ShopLogin/callback?"+q.Encode(), nil)
		if cookie != "" {
			req.Header.Set("Cookie", "jit_bind="+cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d for state=%q code=%q cookie=%q: %s", rec.Code, state, code, cookie, rec.Body)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"code":`) {
			t.Fatalf("not a JSON error: %s", rec.Body)
		}
		if sim.Calls(wechatsim.EndpointAccessToken) != before {
			t.Fatal("a code was sent to WeChat for a state this server never issued")
		}
	})
}
