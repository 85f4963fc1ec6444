package jit_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths/wechatsim"
)

func openWithUpstream(t *testing.T, apiBase string, timeout time.Duration) *httptest.Server {
	t.Helper()
	env := map[string]string{"WECHAT_APP_SECRET": replicaSecret, "WECHAT_AUTHORIZE_URL": "https://open.weixin.qq.com/connect/oauth2/authorize", "WECHAT_API_BASE": apiBase}
	return startReplica(t, filepath.Join(t.TempDir(), "up.db"), env, jit.WithHTTPClient(&http.Client{Timeout: timeout})).srv
}

func TestUpstreamRefusingConnectionsGives502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	srv := openWithUpstream(t, dead, 2*time.Second)
	c := repBrowser()
	state, err := repStartLogin(t, c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, _, err := repFinishLogin(c, srv.URL, "SOMECODE", state)
	if err != nil || status != http.StatusBadGateway {
		t.Fatalf("callback with WeChat refusing connections: %d %v", status, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("refused connections took %v to report", took)
	}
}

// A hanging WeChat makes callbacks answer 504 within the client timeout,
// other routes stay fast meanwhile, and logins work again once WeChat does.
func TestUpstreamHangingGives504AndRecovers(t *testing.T) {
	sim := wechatsim.New(wechatsim.WithApp(replicaAppID, replicaSecret))
	var hanging atomic.Bool
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			<-r.Context().Done() // never answers; the client gives up
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer upstream.Close()
	const timeout = 300 * time.Millisecond
	srv := openWithUpstream(t, upstream.URL, timeout)

	hanging.Store(true)
	var wg sync.WaitGroup
	statuses := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := repBrowser()
			state, err := repStartLogin(t, c, srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			status, _, err := repFinishLogin(c, srv.URL, sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo"), state)
			if err != nil {
				t.Error(err)
				return
			}
			if took := time.Since(start); took > 4*timeout {
				t.Errorf("callback took %v with a %v timeout", took, timeout)
			}
			statuses <- status
		}()
	}
	// While they hang, the server answers other routes at once.
	time.Sleep(50 * time.Millisecond)
	for range 5 {
		start := time.Now()
		if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
			t.Fatalf("healthz %d", code)
		}
		if took := time.Since(start); took > timeout/2 {
			t.Fatalf("healthz took %v while WeChat hangs", took)
		}
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusGatewayTimeout {
			t.Fatalf("callback while WeChat hangs: %d, want 504", s)
		}
	}

	hanging.Store(false)
	c := repBrowser()
	state, err := repStartLogin(t, c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := repFinishLogin(c, srv.URL, sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo"), state); err != nil || status != http.StatusFound {
		t.Fatalf("after WeChat recovered: %d %v", status, err)
	}
}
