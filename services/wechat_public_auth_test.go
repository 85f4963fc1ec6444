package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

const (
	testAppID  = "wxtestapp0000001"
	testSecret = "S3cr3t-Never-Leak-9f8e7d6c5b4a"
)

var (
	plainUser    = wechatsim.User{OpenID: "o-plain", Nickname: "小明😀", HeadImgURL: "/avatar/1.svg"}
	unionUser    = wechatsim.User{OpenID: "o-union", UnionID: "u-union", Nickname: "李雷", HeadImgURL: "/avatar/2.svg", Province: "广东", Country: "中国"}
	snapshotUser = wechatsim.User{OpenID: "o-snap", UnionID: "u-snap", Nickname: "微信用户", Snapshot: true}
)

// clock is a settable clock shared by the simulator and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	sim   *wechatsim.Server
	srv   *httptest.Server
	db    *gorm.DB
	clock *clock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := newClock()
	sim := wechatsim.New(
		wechatsim.WithApp(testAppID, testSecret),
		wechatsim.WithApp("wxotherapp", "other-secret"),
		wechatsim.WithUsers(plainUser, unionUser, snapshotUser),
		wechatsim.WithClock(c.Now),
	)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	db, err := models.Open(t.Context(), filepath.Join(t.TempDir(), "jit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s, _ := db.DB(); _ = s.Close() })
	if err := models.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, db: db, clock: c, logs: &syncBuffer{}}
}

func (e *env) svc(cfg WechatConfig, opts ...Option) *WechatPublicAuthSvc {
	if cfg.AppID == "" {
		cfg.AppID = testAppID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = testSecret
	}
	if cfg.LoginType == "" {
		cfg.LoginType = "auths.wechat_public"
	}
	if cfg.APIBaseURLs == nil {
		cfg.APIBaseURLs = []string{e.srv.URL}
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []Option{WithClock(e.clock.Now), WithLogger(log), WithRetry(3, time.Millisecond), WithTimeout(2 * time.Second)}
	return NewWechatPublicAuthSvc(cfg, e.db, append(base, opts...)...)
}

func wantWechatCode(t *testing.T, err error, code int) {
	t.Helper()
	var we *WechatError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v (%T), want *WechatError %d", err, err, code)
	}
	if we.ErrCode() != code {
		t.Fatalf("errcode = %d, want %d (%v)", we.ErrCode(), code, err)
	}
	if we.RID == "" || strings.Contains(we.Msg, "rid") {
		t.Errorf("rid not split out: msg=%q rid=%q", we.Msg, we.RID)
	}
}

func TestGetUserInfo(t *testing.T) {
	tests := []struct {
		name      string
		user      wechatsim.User
		scope     string
		wantUnion string
		wantNick  string
		wantCalls int // userinfo calls
	}{
		{"userinfo without unionid", plainUser, "snsapi_userinfo", "", "小明😀", 1},
		{"userinfo with unionid", unionUser, "snsapi_userinfo", "u-union", "李雷", 1},
		{"base scope never calls userinfo", unionUser, "snsapi_base", "", "", 0},
		{"website app snsapi_login gets the profile", unionUser, "snsapi_login", "u-union", "李雷", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.svc(WechatConfig{Scope: tc.scope})
			code := e.sim.IssueCode(testAppID, tc.user.OpenID, tc.scope)
			info, err := s.GetUserInfo(t.Context(), code)
			if err != nil {
				t.Fatal(err)
			}
			if info.OpenID != tc.user.OpenID || info.UnionID != tc.wantUnion || info.Nickname != tc.wantNick {
				t.Errorf("info = %+v", info)
			}
			if got := e.sim.Calls(wechatsim.EndpointUserInfo); got != tc.wantCalls {
				t.Errorf("userinfo calls = %d, want %d", got, tc.wantCalls)
			}
			if tc.wantCalls == 1 && info.HeadImgURL != e.srv.URL+tc.user.HeadImgURL {
				t.Errorf("headimgurl = %q (escaped slashes must decode)", info.HeadImgURL)
			}
			m, err := models.FindWechatUser(t.Context(), e.db, testAppID, tc.user.OpenID)
			if err != nil {
				t.Fatal(err)
			}
			if m.AccessToken == "" || m.RefreshToken == "" || m.ExpiresIn != 7200 || m.Scope != tc.scope ||
				m.LoginType != "auths.wechat_public" || m.UnionID != tc.wantUnion || m.Nickname != tc.wantNick {
				t.Errorf("row = %+v", m)
			}
			if want := e.clock.Now().Add(7200 * time.Second); !m.TokenExpiresAt.Equal(want) {
				t.Errorf("token expires %v, want %v", m.TokenExpiresAt, want)
			}
			if want := e.clock.Now().Add(30 * 24 * time.Hour); !m.RefreshExpiresAt.Equal(want) {
				t.Errorf("refresh expires %v, want %v", m.RefreshExpiresAt, want)
			}
			if err := s.CheckAccessToken(t.Context(), m.AccessToken, tc.user.OpenID); err != nil {
				t.Errorf("stored token does not check: %v", err)
			}
		})
	}
}

func TestBaseLoginKeepsProfile(t *testing.T) {
	e := newEnv(t)
	full := e.svc(WechatConfig{})
	if _, err := full.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, unionUser.OpenID, "snsapi_userinfo")); err != nil {
		t.Fatal(err)
	}
	base := e.svc(WechatConfig{Scope: "snsapi_base"})
	if _, err := base.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, unionUser.OpenID, "snsapi_base")); err != nil {
		t.Fatal(err)
	}
	m, err := models.FindWechatUser(t.Context(), e.db, testAppID, unionUser.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Nickname != "李雷" || m.UnionID != "u-union" || m.Scope != "snsapi_base" {
		t.Errorf("base login clobbered profile: %+v", m)
	}
}

// TestWebsiteLoginReplacesProfile: a snsapi_login (website app) login is a
// full profile, so unlike snsapi_base it updates the stored one.
func TestWebsiteLoginReplacesProfile(t *testing.T) {
	e := newEnv(t)
	s := e.svc(WechatConfig{Scope: "snsapi_login"})
	if _, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, unionUser.OpenID, "snsapi_login")); err != nil {
		t.Fatal(err)
	}
	renamed := unionUser
	renamed.Nickname = "李雷改名"
	e.sim.AddUser(renamed)
	if _, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, unionUser.OpenID, "snsapi_login")); err != nil {
		t.Fatal(err)
	}
	m, err := models.FindWechatUser(t.Context(), e.db, testAppID, unionUser.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Nickname != "李雷改名" || m.UnionID != "u-union" || m.Scope != "snsapi_login" {
		t.Errorf("row after a second website login: %+v", m)
	}
	for scope, want := range map[string]bool{"snsapi_base": false, "snsapi_userinfo": true, "snsapi_login": true, "snsapi_base,snsapi_login": true, "": false} {
		if got := (&AccessToken{Scope: scope}).FullProfile(); got != want {
			t.Errorf("FullProfile(%q) = %v, want %v", scope, got, want)
		}
	}
}

func TestSnapshotUser(t *testing.T) {
	e := newEnv(t)
	s := e.svc(WechatConfig{})
	_, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, snapshotUser.OpenID, "snsapi_userinfo"))
	if !errors.Is(err, ErrSnapshotUser) {
		t.Fatalf("err = %v, want ErrSnapshotUser", err)
	}
	if n := e.sim.Calls(wechatsim.EndpointUserInfo); n != 0 {
		t.Errorf("userinfo called %d times for a snapshot user", n)
	}
	if _, err := models.FindWechatUser(t.Context(), e.db, testAppID, snapshotUser.OpenID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("snapshot user persisted: %v", err)
	}
}

func TestCodeExchangeErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   WechatConfig
		code  func(e *env) string
		want  int
		check func(error) bool
	}{
		{"unknown code", WechatConfig{}, func(*env) string { return "nope" }, 40029, IsCodeInvalid},
		{"code of another app", WechatConfig{}, func(e *env) string { return e.sim.IssueCode("wxotherapp", plainUser.OpenID, "snsapi_userinfo") }, 40029, IsCodeInvalid},
		{"replayed code", WechatConfig{}, func(e *env) string {
			c := e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo")
			if _, err := e.svc(WechatConfig{}).GetAccessToken(context.Background(), c); err != nil {
				panic(err)
			}
			return c
		}, 40163, IsCodeUsed},
		{"expired code", WechatConfig{}, func(e *env) string {
			c := e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo")
			e.clock.Advance(5*time.Minute + time.Second)
			return c
		}, 42003, IsCodeInvalid},
		{"wrong secret", WechatConfig{AppSecret: "wrong-secret"}, func(e *env) string { return e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_base") }, 40125, nil},
		{"unknown appid", WechatConfig{AppID: "wxunknown"}, func(e *env) string { return e.sim.IssueCode("wxunknown", plainUser.OpenID, "snsapi_base") }, 40013, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			code := tc.code(e)
			_, err := e.svc(tc.cfg).GetUserInfo(t.Context(), code)
			wantWechatCode(t, err, tc.want)
			if tc.check != nil && !tc.check(err) {
				t.Errorf("classifier false for %v", err)
			}
			if n := e.sim.Calls(wechatsim.EndpointUserInfo); n != 0 {
				t.Errorf("userinfo called after failed exchange")
			}
			var ue *UpstreamError
			if errors.As(err, &ue) {
				t.Errorf("errcode wrapped as upstream error")
			}
		})
	}
}

func TestRefreshAndCheck(t *testing.T) {
	e := newEnv(t)
	s := e.svc(WechatConfig{})
	tok, err := s.GetAccessToken(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	nt, err := s.RefreshToken(t.Context(), tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccessToken == tok.AccessToken || nt.OpenID != plainUser.OpenID || nt.Scope != "snsapi_userinfo" {
		t.Errorf("refreshed = %+v", nt)
	}

	checks := []struct {
		name       string
		at, openid string
		advance    time.Duration
		want       int
	}{
		{"valid", nt.AccessToken, plainUser.OpenID, 0, 0},
		{"openid mismatch", nt.AccessToken, unionUser.OpenID, 0, 40003},
		{"invalid token", "bogus", plainUser.OpenID, 0, 40001},
		{"expired token", nt.AccessToken, plainUser.OpenID, 7201 * time.Second, 42001},
	}
	for _, c := range checks {
		t.Run("auth "+c.name, func(t *testing.T) {
			e.clock.Advance(c.advance)
			err := s.CheckAccessToken(t.Context(), c.at, c.openid)
			if c.want == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantWechatCode(t, err, c.want)
		})
	}

	t.Run("invalid refresh token", func(t *testing.T) {
		_, err := s.RefreshToken(t.Context(), "bogus")
		wantWechatCode(t, err, 40030)
		if !IsRefreshTokenExpired(err) {
			t.Error("40030 not classified as needing reauthorization")
		}
	})
	t.Run("refresh token after 30 days", func(t *testing.T) {
		e.clock.Advance(30 * 24 * time.Hour)
		_, err := s.RefreshToken(t.Context(), tok.RefreshToken)
		wantWechatCode(t, err, 42002)
		if !IsRefreshTokenExpired(err) {
			t.Error("42002 not classified")
		}
	})
}

func TestSystemBusyRetry(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  string
		times     int
		run       func(e *env, s *WechatPublicAuthSvc) error
		wantErr   bool
		wantCalls int
	}{
		{"userinfo retried once", wechatsim.EndpointUserInfo, 1, func(e *env, s *WechatPublicAuthSvc) error {
			_, err := s.GetUserInfo(context.Background(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
			return err
		}, false, 2},
		{"access_token not retried", wechatsim.EndpointAccessToken, 1, func(e *env, s *WechatPublicAuthSvc) error {
			_, err := s.GetAccessToken(context.Background(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
			return err
		}, true, 1},
		{"refresh gives up after 3 attempts", wechatsim.EndpointRefreshToken, 5, func(e *env, s *WechatPublicAuthSvc) error {
			tok, err := s.GetAccessToken(context.Background(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			_, err = s.RefreshToken(context.Background(), tok.RefreshToken)
			return err
		}, true, 3},
		{"auth retried twice", wechatsim.EndpointAuth, 2, func(e *env, s *WechatPublicAuthSvc) error {
			tok, err := s.GetAccessToken(context.Background(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_base"))
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			return s.CheckAccessToken(context.Background(), tok.AccessToken, tok.OpenID)
		}, false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.sim.Inject(wechatsim.Fault{Endpoint: tc.endpoint, ErrCode: -1, Times: tc.times})
			err := tc.run(e, e.svc(WechatConfig{}))
			if tc.wantErr {
				wantWechatCode(t, err, -1)
				if !IsSystemBusy(err) {
					t.Error("not IsSystemBusy")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := e.sim.Calls(tc.endpoint); got != tc.wantCalls {
				t.Errorf("%s calls = %d, want %d", tc.endpoint, got, tc.wantCalls)
			}
		})
	}
}

func TestFailoverAndUpstreamErrors(t *testing.T) {
	tests := []struct {
		name        string
		fault       wechatsim.Fault
		twoBases    bool
		wantOK      bool
		wantStatus  int
		wantTimeout bool
		wantCalls   int
	}{
		{"5xx on first base, ok on second", wechatsim.Fault{HTTPStatus: 502}, true, true, 0, false, 2},
		{"dropped connection on first base, ok on second", wechatsim.Fault{Drop: true}, true, true, 0, false, 2},
		{"slow first base, ok on second", wechatsim.Fault{Delay: 2 * time.Second}, true, true, 0, false, 2},
		{"5xx everywhere", wechatsim.Fault{HTTPStatus: 503, Times: 2}, true, false, 503, false, 2},
		{"dropped everywhere", wechatsim.Fault{Drop: true, Times: 2}, true, false, 0, false, 2},
		{"garbage body, no failover", wechatsim.Fault{Garbage: true}, true, false, 200, false, 1},
		{"4xx, no failover", wechatsim.Fault{HTTPStatus: 404}, true, false, 404, false, 1},
		{"json without token", wechatsim.Fault{Body: `{"expires_in":7200,"openid":"o-plain"}`}, false, false, 200, false, 1},
		{"json array", wechatsim.Fault{Body: `[1,2]`}, false, false, 200, false, 1},
		{"timeout", wechatsim.Fault{Delay: 2 * time.Second}, false, false, 0, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bases := []string{e.srv.URL}
			var secondHits atomic.Int32
			if tc.twoBases {
				second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					secondHits.Add(1)
					e.sim.ServeHTTP(w, r)
				})) // same state, another "domain"
				t.Cleanup(second.Close)
				bases = append(bases, second.URL)
			}
			tc.fault.Endpoint = wechatsim.EndpointAccessToken
			e.sim.Inject(tc.fault)
			s := e.svc(WechatConfig{APIBaseURLs: bases}, WithTimeout(200*time.Millisecond))
			start := time.Now()
			tok, err := s.GetAccessToken(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
			if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
				t.Errorf("took %v; per-attempt timeout not honoured", elapsed)
			}
			if got := e.sim.Calls(wechatsim.EndpointAccessToken); got != tc.wantCalls {
				t.Errorf("access_token calls = %d, want %d", got, tc.wantCalls)
			}
			if tc.wantOK {
				if err != nil || tok.OpenID != plainUser.OpenID {
					t.Fatalf("tok=%+v err=%v", tok, err)
				}
				if secondHits.Load() != 1 {
					t.Errorf("second base hit %d times, want 1", secondHits.Load())
				}
				return
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want *UpstreamError", err, err)
			}
			if ue.Status != tc.wantStatus || ue.Timeout() != tc.wantTimeout {
				t.Errorf("status=%d timeout=%v, want %d %v (%v)", ue.Status, ue.Timeout(), tc.wantStatus, tc.wantTimeout, err)
			}
			if tc.wantStatus == 200 && !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("err %v does not match ErrMalformedResponse", err)
			}
			if tok != nil {
				t.Errorf("token returned with error: %+v", tok)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	e := newEnv(t)
	e.sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointUserInfo, Delay: 5 * time.Second})
	s := e.svc(WechatConfig{})
	tok, err := s.GetAccessToken(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = s.Login(ctx, tok)
	var ue *UpstreamError
	if !errors.As(err, &ue) || !ue.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want timed-out UpstreamError", err)
	}
}

func TestValidAccessToken(t *testing.T) {
	login := func(t *testing.T, e *env, s *WechatPublicAuthSvc) *models.WechatPublicAuthModel {
		t.Helper()
		if _, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo")); err != nil {
			t.Fatal(err)
		}
		m, err := models.FindWechatUser(t.Context(), e.db, testAppID, plainUser.OpenID)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("fresh token served from the database", func(t *testing.T) {
		e := newEnv(t)
		s := e.svc(WechatConfig{})
		m := login(t, e, s)
		got, err := s.ValidAccessToken(t.Context(), plainUser.OpenID)
		if err != nil || got != m.AccessToken {
			t.Fatalf("got %q, %v; want stored token", got, err)
		}
		if n := e.sim.Calls(wechatsim.EndpointRefreshToken); n != 0 {
			t.Errorf("refresh calls = %d", n)
		}
	})

	t.Run("20 concurrent callers share one refresh", func(t *testing.T) {
		e := newEnv(t)
		s := e.svc(WechatConfig{})
		old := login(t, e, s)
		e.clock.Advance(2 * time.Hour)
		// Slow the refresh so all callers pile up on the same flight.
		e.sim.Inject(wechatsim.Fault{Endpoint: wechatsim.EndpointRefreshToken, Delay: 200 * time.Millisecond})
		var wg sync.WaitGroup
		got := make([]string, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() { got[i], errs[i] = s.ValidAccessToken(t.Context(), plainUser.OpenID) })
		}
		wg.Wait()
		for i := range 20 {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if got[i] == old.AccessToken || got[i] != got[0] {
				t.Fatalf("caller %d got %q, first %q, old %q", i, got[i], got[0], old.AccessToken)
			}
		}
		if n := e.sim.Calls(wechatsim.EndpointRefreshToken); n != 1 {
			t.Errorf("refresh calls = %d, want 1", n)
		}
		m, err := models.FindWechatUser(t.Context(), e.db, testAppID, plainUser.OpenID)
		if err != nil {
			t.Fatal(err)
		}
		if m.AccessToken != got[0] || !m.TokenExpiresAt.Equal(e.clock.Now().Add(7200*time.Second)) || !m.RefreshExpiresAt.Equal(old.RefreshExpiresAt) || m.Nickname != old.Nickname {
			t.Errorf("row after refresh = %+v", m)
		}
		if err := s.CheckAccessToken(t.Context(), got[0], plainUser.OpenID); err != nil {
			t.Errorf("refreshed token rejected: %v", err)
		}
	})

	reauth := []struct {
		name       string
		prepare    func(e *env)
		wantRemote bool // whether WeChat is asked
		wantCode   int
	}{
		{"42002 from WeChat clears tokens", func(e *env) {
			// Only WeChat's clock passes 30 days, so the service must ask it.
			e.clock.Advance(31 * 24 * time.Hour)
		}, true, 42002},
		{"40030 from WeChat clears tokens", func(e *env) {
			e.sim.Reset() // WeChat forgot the refresh token
			e.clock.Advance(3 * time.Hour)
		}, true, 40030},
		{"refresh past 30 days locally", func(e *env) { e.clock.Advance(31 * 24 * time.Hour) }, false, 0},
	}
	for _, tc := range reauth {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.svc(WechatConfig{})
			login(t, e, s)
			if tc.wantRemote {
				// Give the service its own clock that is only 3h ahead.
				svcClock := &clock{t: e.clock.Now().Add(3 * time.Hour)}
				s = e.svc(WechatConfig{}, WithClock(svcClock.Now))
			}
			tc.prepare(e)
			before := e.sim.Calls(wechatsim.EndpointRefreshToken)
			_, err := s.ValidAccessToken(t.Context(), plainUser.OpenID)
			if !errors.Is(err, ErrReauthorize) {
				t.Fatalf("err = %v, want ErrReauthorize", err)
			}
			if tc.wantCode != 0 {
				wantWechatCode(t, err, tc.wantCode)
			}
			if remote := e.sim.Calls(wechatsim.EndpointRefreshToken) > before; remote != tc.wantRemote {
				t.Errorf("asked WeChat = %v, want %v", remote, tc.wantRemote)
			}
			m, err := models.FindWechatUser(t.Context(), e.db, testAppID, plainUser.OpenID)
			if err != nil {
				t.Fatal(err)
			}
			if m.AccessToken != "" || m.RefreshToken != "" || m.Nickname != plainUser.Nickname {
				t.Errorf("row after reauth = %+v", m)
			}
			// With tokens cleared, the next call fails without asking WeChat.
			n := e.sim.Calls(wechatsim.EndpointRefreshToken)
			if _, err := s.ValidAccessToken(t.Context(), plainUser.OpenID); !errors.Is(err, ErrReauthorize) {
				t.Errorf("second call err = %v", err)
			}
			if e.sim.Calls(wechatsim.EndpointRefreshToken) != n {
				t.Error("second call asked WeChat")
			}
		})
	}

	t.Run("unknown user", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.svc(WechatConfig{}).ValidAccessToken(t.Context(), "o-nobody")
		if !errors.Is(err, ErrReauthorize) || !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestErrorFormatting(t *testing.T) {
	we := newWechatError(endpointAccessToken, 40029, "invalid code, rid: 645ca8fe-448ccd42-1a78a4b0")
	if got, want := we.Error(), "wechat sns/oauth2/access_token: errcode 40029: invalid code (rid: 645ca8fe-448ccd42-1a78a4b0)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("login: %w", we)
	cases := []struct {
		name string
		fn   func(error) bool
		err  error
		want bool
	}{
		{"invalid", IsCodeInvalid, wrapped, true},
		{"used", IsCodeUsed, wrapped, false},
		{"used 40163", IsCodeUsed, &WechatError{Code: 40163}, true},
		{"expired code", IsCodeInvalid, &WechatError{Code: 42003}, true},
		{"busy", IsSystemBusy, &WechatError{Code: -1}, true},
		{"refresh 42002", IsRefreshTokenExpired, &WechatError{Code: 42002}, true},
		{"plain error", IsCodeInvalid, errors.New("x"), false},
		{"nil", IsSystemBusy, nil, false},
	}
	for _, c := range cases {
		if got := c.fn(c.err); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

// TestSecretNeverLeaks drives every failure path and greps errors and logs.
func TestSecretNeverLeaks(t *testing.T) {
	e := newEnv(t)
	cfg := WechatConfig{AppID: testAppID, AppSecret: testSecret, LoginType: "x"}
	var errs []error
	run := func(f wechatsim.Fault, bases []string, opts ...Option) {
		if f.Endpoint != "" {
			e.sim.Inject(f)
		}
		c := cfg
		c.APIBaseURLs = bases
		s := e.svc(c, append([]Option{WithTimeout(100 * time.Millisecond)}, opts...)...)
		_, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
		errs = append(errs, err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	up := []string{e.srv.URL}
	run(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Drop: true}, up)
	run(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Delay: time.Second}, up)
	run(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Garbage: true}, up)
	run(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, HTTPStatus: 500}, up)
	run(wechatsim.Fault{Endpoint: wechatsim.EndpointAccessToken, Body: `{"errcode":40125,"errmsg":"invalid appsecret ` + testSecret + `"}`}, up)
	run(wechatsim.Fault{}, []string{closed.URL, closed.URL})
	run(wechatsim.Fault{}, []string{"http://[::1]:namedport"})
	// A proxy failure also embeds the request URL.
	run(wechatsim.Fault{}, up, WithHTTPClient(&http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) {
		return nil, errors.New("proxy down")
	}}}))

	s := e.svc(cfg)
	asJSON, err := json.Marshal(s.Config())
	if err != nil || !strings.Contains(string(asJSON), `"AppID":"`+testAppID+`"`) {
		t.Errorf("json of the config: %s %v", asJSON, err)
	}
	leaks := []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", s.Config()), string(asJSON)}
	slog.New(slog.NewJSONHandler(e.logs, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewTextHandler(e.logs, nil)).Info("config", "cfg", s.Config())
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d unexpectedly succeeded", i)
			continue
		}
		leaks = append(leaks, err.Error(), fmt.Sprintf("%+v", err))
	}
	for _, text := range append(leaks, e.logs.String()) {
		if strings.Contains(text, testSecret) {
			t.Errorf("secret leaked in: %s", text)
		}
	}
	if !strings.Contains(e.logs.String(), "failing over") {
		t.Errorf("expected failover warnings in the captured log")
	}
	if s.Config().AppSecret != testSecret {
		t.Error("Config() must still hand out the secret")
	}
}
