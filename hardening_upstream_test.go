package jit_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

// What comes back from WeChat (or whatever answers in its place) is
// untrusted: a redirect is never followed, and a profile is cleaned so that
// it stores alike on SQLite and PostgreSQL, while an id that cannot be one
// is refused with a clean 502.

// redirectWX answers endpoint (a path such as /sns/oauth2/access_token)
// with a 302 to target and passes everything else to the fake WeChat.
func redirectWX(endpoint, target string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == endpoint {
				http.Redirect(w, r, target+"/latest/meta-data/iam?"+r.URL.RawQuery, http.StatusFound)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// internalService is an address only the server can reach (a metadata
// service, an admin port): it counts what reaches it.
func internalService(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"oInternal","scope":"snsapi_userinfo"}`))
	}))
	return srv, &hits
}

func checkRedirectPointer(c *http.Client) uintptr {
	if c == nil || c.CheckRedirect == nil {
		return 0
	}
	return reflect.ValueOf(c.CheckRedirect).Pointer()
}

func TestUpstreamRedirectIsNeverFollowed(t *testing.T) {
	permissive := func(*http.Request, []*http.Request) error { return nil }
	clients := []struct {
		name   string
		client *http.Client // nil: the App's default
	}{
		{"default client", nil},
		{"WithHTTPClient zero client", &http.Client{}},
		{"WithHTTPClient permissive CheckRedirect", &http.Client{Timeout: 5 * time.Second, CheckRedirect: permissive}},
	}
	for _, c := range clients {
		for _, endpoint := range []string{"/sns/oauth2/access_token", "/sns/userinfo"} {
			t.Run(c.name+endpoint, func(t *testing.T) {
				internal, hits := internalService(t)
				eo := envOptions{wrapWX: redirectWX(endpoint, internal.URL)}
				before := checkRedirectPointer(c.client)
				if c.client != nil {
					eo.opts = append(eo.opts, jit.WithHTTPClient(c.client))
				}
				e := newLoginEnv(t, eo)
				r := e.browser().fullLogin(mainLogin, userPanda.OpenID, "/after")
				wantError(t, r, http.StatusBadGateway, "wechat_unavailable")
				if n := hits.Load(); n != 0 {
					t.Errorf("the server followed WeChat's redirect: the internal address got %d requests", n)
				}
				if checkRedirectPointer(c.client) != before {
					t.Error("the App changed the *http.Client it was given")
				}
				for name, model := range map[string]any{"users": &models.User{}, "accounts": &models.WechatPublicAuthModel{}, "sessions": &models.Session{}} {
					if n := count(t, e, model, ""); n != 0 {
						t.Errorf("a refused login stored %d %s", n, name)
					}
				}
				if strings.Contains(e.logs.String(), testSecret) {
					t.Error("the secret reached the logs")
				}
			})
		}
	}
}

// badUTF8 in a fake WeChat value is sent as the raw bytes 0xff 0xfe (the
// fake's encoding/json would otherwise send U+FFFD).
const badUTF8 = "@BADUTF8@"

func rawBytesWX(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(badUTF8), []byte("\xff\xfe")))
	})
}

// profileDatabases runs f on SQLite (the env's file) and on a fresh
// PostgreSQL schema, when the local server answers.
func profileDatabases(t *testing.T, f func(t *testing.T, opts []jit.Option)) {
	t.Run("sqlite", func(t *testing.T) { f(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		dsn, err := freshPGSchema(t, "jit_profile")
		if err != nil {
			t.Skipf("PostgreSQL is not available: %v", err)
		}
		f(t, []jit.Option{jit.WithDatabase(dsn)})
	})
}

var nastyUser = wechatsim.User{
	OpenID:     "oNasty000000000000000000000009",
	UnionID:    "uNasty000000000000000000000009",
	Nickname:   "坏\x00人" + badUTF8 + "\x1b[31m\u202e😀\t" + strings.Repeat("长", 300),
	HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/" + strings.Repeat("a", 1100) + "/132",
	Province:   "广\x00东" + badUTF8 + strings.Repeat("省", 100),
	City:       "\x01\x02深圳",
	Country:    "中国" + badUTF8,
	Sex:        9,
}

// nastyNickname is nastyUser's nickname as stored: valid UTF-8 without
// control characters, cut to jit_users.nickname's 191 characters.
var nastyNickname = func() string {
	head := "坏人[31m\u202e😀"
	return head + strings.Repeat("长", 191-utf8.RuneCountInString(head))
}()

func TestProfileNicknameNULInvalidUTF8AndOversizedValuesLogIn(t *testing.T) {
	profileDatabases(t, func(t *testing.T, opts []jit.Option) {
		e := newLoginEnv(t, envOptions{wrapWX: rawBytesWX, opts: opts})
		e.sim.AddUser(nastyUser)
		// Every login, not just the first: the stored row must not break
		// the next upsert either.
		for i := range 3 {
			b := e.browser()
			wantLoggedIn(t, b.fullLogin(mainLogin, nastyUser.OpenID, "/after"), "/after")
			status, u := b.user()
			if status != http.StatusOK || u.OpenID != nastyUser.OpenID {
				t.Fatalf("login %d: session %d %+v", i+1, status, u)
			}
			if u.Nickname != nastyNickname || u.HeadImgURL != "" {
				t.Errorf("login %d: session nickname %.120q avatar %.120q, want %.120q and none", i+1, u.Nickname, u.HeadImgURL, nastyNickname)
			}
		}
		if n := count(t, e, &models.User{}, ""); n != 1 {
			t.Errorf("%d users after three logins of one person", n)
		}
		var user models.User
		if err := e.app.DB().Take(&user).Error; err != nil {
			t.Fatal(err)
		}
		if user.Nickname != nastyNickname || user.AvatarURL != "" {
			t.Errorf("jit_users: nickname %.120q avatar %.120q", user.Nickname, user.AvatarURL)
		}
		row, err := models.FindWechatUser(context.Background(), e.app.DB(), testAppID, nastyUser.OpenID)
		if err != nil {
			t.Fatal(err)
		}
		if row.Nickname != nastyNickname || row.HeadImgURL != "" || row.Sex != 0 || row.UnionID != nastyUser.UnionID ||
			row.Province != "广东"+strings.Repeat("省", 62) || row.City != "深圳" || row.Country != "中国" {
			t.Errorf("wechat_public_auth: nickname %.120q avatar %.120q sex %d province %.120q city %q country %q",
				row.Nickname, row.HeadImgURL, row.Sex, row.Province, row.City, row.Country)
		}
	})
}

func TestProfileTurnedNastyDoesNotLockOutAKnownUser(t *testing.T) {
	profileDatabases(t, func(t *testing.T, opts []jit.Option) {
		e := newLoginEnv(t, envOptions{wrapWX: rawBytesWX, opts: opts})
		first := e.browser()
		wantLoggedIn(t, first.fullLogin(mainLogin, userPlain.OpenID, "/after"), "/after")
		_, before := first.user()
		// The person changes their WeChat profile.
		changed := userPlain
		changed.Nickname = "\x00" + badUTF8 + strings.Repeat("🐼", 400)
		changed.HeadImgURL = "javascript:alert(document.cookie)"
		e.sim.AddUser(changed)
		b := e.browser()
		wantLoggedIn(t, b.fullLogin(mainLogin, userPlain.OpenID, "/after"), "/after")
		status, after := b.user()
		if status != http.StatusOK || after.UserID != before.UserID {
			t.Fatalf("after the profile change: session %d %+v, want user %s", status, after, before.UserID)
		}
		row, err := models.FindWechatUser(context.Background(), e.app.DB(), testAppID, userPlain.OpenID)
		if err != nil {
			t.Fatal(err)
		}
		if row.Nickname != strings.Repeat("🐼", 191) || row.HeadImgURL != "" {
			t.Errorf("wechat_public_auth: nickname %.120q (%d runes) avatar %.120q", row.Nickname, utf8.RuneCountInString(row.Nickname), row.HeadImgURL)
		}
	})
}

func TestUpstreamGarbageOpenIDIsACleanError(t *testing.T) {
	cases := map[string]wechatsim.User{
		"openid over 64":       {OpenID: "o" + strings.Repeat("x", 80), Nickname: "long"},
		"openid with NUL":      {OpenID: "oNul\x00000000000000000000000", Nickname: "nul"},
		"openid invalid UTF-8": {OpenID: "oBad" + badUTF8, Nickname: "bad"},
		"openid not ASCII":     {OpenID: "o用户00000000000000000000", Nickname: "cjk"},
		"unionid over 64":      {OpenID: "oUnion00000000000000000000007", UnionID: "u" + strings.Repeat("y", 80), Nickname: "union"},
	}
	profileDatabases(t, func(t *testing.T, opts []jit.Option) {
		e := newLoginEnv(t, envOptions{wrapWX: rawBytesWX, opts: opts})
		for name, u := range cases {
			e.sim.AddUser(u)
			r := e.browser().fullLogin(mainLogin, u.OpenID, "/after")
			if r.StatusCode == http.StatusServiceUnavailable {
				t.Errorf("%s: 503, the database refused what WeChat sent (body %s)", name, r.body)
				continue
			}
			wantError(t, r, http.StatusBadGateway, "wechat_unavailable")
		}
		for name, model := range map[string]any{"users": &models.User{}, "identities": &models.Identity{}, "accounts": &models.WechatPublicAuthModel{}, "sessions": &models.Session{}} {
			if n := count(t, e, model, ""); n != 0 {
				t.Errorf("garbage ids stored %d %s", n, name)
			}
		}
		// A real user still logs in next to them.
		wantLoggedIn(t, e.browser().fullLogin(mainLogin, userPanda.OpenID, "/after"), "/after")
	})
}
