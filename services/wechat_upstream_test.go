package services

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

// internalServer stands for an address only the server can reach; it
// counts the requests that got there.
func internalServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"o-plain","scope":"snsapi_userinfo"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// redirectingWechat is the simulator, except that endpoint answers status
// with a Location on target.
func redirectingWechat(t *testing.T, sim http.Handler, endpoint string, status int, target string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimPrefix(r.URL.Path, "/") == endpoint {
			http.Redirect(w, r, target+"/latest/meta-data?"+r.URL.RawQuery, status)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpstreamRedirectNeverFollowed(t *testing.T) {
	permissive := func(*http.Request, []*http.Request) error { return nil }
	clients := []struct {
		name   string
		client *http.Client // nil: the service's default
	}{
		{"default client", nil},
		{"zero http.Client", &http.Client{}},
		{"client with a permissive CheckRedirect", &http.Client{Timeout: 5 * time.Second, CheckRedirect: permissive}},
		{"http.DefaultClient", http.DefaultClient},
	}
	endpoints := []struct {
		endpoint string
		status   int
	}{
		{endpointAccessToken, http.StatusFound},
		{endpointUserInfo, http.StatusTemporaryRedirect},
		{endpointAccessToken, http.StatusMovedPermanently},
	}
	for _, c := range clients {
		for _, ep := range endpoints {
			t.Run(c.name+"/"+ep.endpoint, func(t *testing.T) {
				e := newEnv(t)
				internal, hits := internalServer(t)
				wx := redirectingWechat(t, e.sim, ep.endpoint, ep.status, internal.URL)
				var opts []Option
				var before uintptr
				if c.client != nil {
					opts = append(opts, WithHTTPClient(c.client))
					if c.client.CheckRedirect != nil {
						before = reflect.ValueOf(c.client.CheckRedirect).Pointer()
					}
				}
				s := e.svc(WechatConfig{APIBaseURLs: []string{wx.URL}}, opts...)
				_, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
				var ue *UpstreamError
				if !errors.As(err, &ue) || ue.Status != ep.status || !errors.Is(err, ErrRedirect) || ue.Endpoint != ep.endpoint {
					t.Fatalf("err = %v (%T), want an UpstreamError %d on %s matching ErrRedirect", err, err, ep.status, ep.endpoint)
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("the redirect target was fetched %d times", n)
				}
				if strings.Contains(err.Error(), internal.URL) || strings.Contains(err.Error(), testSecret) {
					t.Errorf("error names the Location or the secret: %v", err)
				}
				if c.client != nil {
					after := uintptr(0)
					if c.client.CheckRedirect != nil {
						after = reflect.ValueOf(c.client.CheckRedirect).Pointer()
					}
					if after != before {
						t.Error("the caller's client was changed")
					}
				}
				if _, err := models.FindWechatUser(t.Context(), e.db, testAppID, plainUser.OpenID); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("a refused login stored a row: %v", err)
				}
			})
		}
	}
}

func TestUpstreamRedirectNotFailedOverNorRetried(t *testing.T) {
	e := newEnv(t)
	internal, hits := internalServer(t)
	wx := redirectingWechat(t, e.sim, endpointRefreshToken, http.StatusFound, internal.URL)
	s := e.svc(WechatConfig{APIBaseURLs: []string{wx.URL, internal.URL}}, WithHTTPClient(&http.Client{}))
	_, err := s.RefreshToken(t.Context(), "RT")
	if !errors.Is(err, ErrRedirect) {
		t.Fatalf("err = %v, want ErrRedirect", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("a redirect failed over (or was followed) to the second base: %d requests", n)
	}
}

func TestProfileCleaningFunctions(t *testing.T) {
	long := strings.Repeat("长", 300)
	for _, tc := range []struct{ in, want string }{
		{"小明😀", "小明😀"},
		{"熊猫🐼 Panda", "熊猫🐼 Panda"},
		{"👨‍👩‍👧 family", "👨‍👩‍👧 family"}, // ZWJ (a format character) stays
		{"a\x00b", "ab"},
		{"a\xff\xfeb", "ab"},
		{"tab\there\nnew\rline\x7f\u0085", "tabherenewline"},
		{"\uFFFD kept", "\uFFFD kept"},
		{long, long[:MaxNicknameRunes*len("长")]},
		{"", ""},
	} {
		got := cleanText(tc.in, MaxNicknameRunes)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("cleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := cleanText(strings.Repeat("a\x00", 200), MaxPlaceRunes); got != strings.Repeat("a", MaxPlaceRunes) {
		t.Errorf("cleanText cut = %q", got)
	}

	okURL := "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132"
	for _, tc := range []struct{ in, want string }{
		{okURL, okURL},
		{"http://127.0.0.1:8080/avatar/1.svg", "http://127.0.0.1:8080/avatar/1.svg"},
		{"HTTPS://thirdwx.qlogo.cn/x", "HTTPS://thirdwx.qlogo.cn/x"},
		{"https://x.cn/" + strings.Repeat("a", MaxAvatarURLBytes), ""},
		{"javascript:alert(1)", ""},
		{"data:image/png;base64,AAAA", ""},
		{"/avatar/1.svg", ""},
		{"//evil.example/a.png", ""},
		{"https://x.cn/a\x00b", ""},
		{"https://x.cn/a\xffb", ""},
		{"https://x.cn/a b", ""},
		{"https://user:pass@x.cn/a", ""},
		{"ftp://x.cn/a", ""},
		{"", ""},
	} {
		if got := cleanAvatarURL(tc.in); got != tc.want {
			t.Errorf("cleanAvatarURL(%.60q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"oPanda00000000000000000000001", true},
		{"o-Ab_9", true},
		{strings.Repeat("o", MaxIDLen), true},
		{strings.Repeat("o", MaxIDLen+1), false},
		{"", false},
		{"o a", false},
		{"o\x00a", false},
		{"o中文", false},
		{"o\xff", false},
	} {
		if got := validKey(tc.in, MaxIDLen); got != tc.ok {
			t.Errorf("validKey(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

// badUTF8 in a simulator value becomes raw invalid UTF-8 on the wire
// (encoding/json would otherwise replace it by U+FFFD).
const badUTF8 = "@BADUTF8@"

// tamperWechat serves h with every badUTF8 of its answers turned into the
// bytes 0xff 0xfe.
func tamperWechat(h http.Handler) http.Handler {
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

// testDatabases are SQLite and, when the local server answers, PostgreSQL
// (a schema of its own in database "test", dropped afterwards).
func testDatabases() map[string]func(t *testing.T) *gorm.DB {
	return map[string]func(t *testing.T) *gorm.DB{
		"sqlite": func(t *testing.T) *gorm.DB {
			db, err := models.Open(t.Context(), filepath.Join(t.TempDir(), "jit.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s, _ := db.DB(); _ = s.Close() })
			if err := models.Migrate(t.Context(), db); err != nil {
				t.Fatal(err)
			}
			return db
		},
		"postgres": func(t *testing.T) *gorm.DB {
			const addr = "127.0.0.1:5432"
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Skipf("postgres at %s does not answer: %v", addr, err)
			}
			_ = conn.Close()
			dsn := "postgres://postgres@" + addr + "/test?sslmode=disable"
			admin, err := models.Open(t.Context(), dsn)
			if err != nil {
				t.Skipf("postgres at %s not usable: %v", addr, err)
			}
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			schema := "jit_services_test_" + hex.EncodeToString(b)
			if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
				t.Fatalf("create schema: %v", err)
			}
			db, err := models.Open(t.Context(), dsn+"&search_path="+schema)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if s, err := db.DB(); err == nil {
					_ = s.Close()
				}
				if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
					t.Errorf("drop schema: %v", err)
				}
				if s, err := admin.DB(); err == nil {
					_ = s.Close()
				}
			})
			if err := models.Migrate(t.Context(), db); err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
}

func TestProfileNastyValuesStoredOnBothDatabases(t *testing.T) {
	nasty := wechatsim.User{
		OpenID:     "oNasty000000000000000000000001",
		UnionID:    "uNasty000000000000000000000001",
		Nickname:   "坏\x00人" + badUTF8 + "\x1b[31m😀" + strings.Repeat("长", 300),
		HeadImgURL: "https://thirdwx.qlogo.cn/" + strings.Repeat("a", 2000),
		Province:   "广\x00东" + badUTF8 + strings.Repeat("省", 100),
		City:       strings.Repeat("\x01", 10) + "深圳",
		Country:    "中国" + badUTF8,
		Sex:        7,
	}
	wantNick := "坏人[31m😀" + strings.Repeat("长", MaxNicknameRunes-len([]rune("坏人[31m😀")))
	for kind, open := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			db := open(t)
			sim := wechatsim.New(wechatsim.WithApp(testAppID, testSecret), wechatsim.WithUsers(nasty))
			wx := httptest.NewServer(tamperWechat(sim))
			t.Cleanup(wx.Close)
			s := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret, LoginType: "auths.x", APIBaseURLs: []string{wx.URL}}, db,
				WithRetry(1, time.Millisecond))
			// The same profile on every login: none of them may fail.
			for i := range 2 {
				info, err := s.GetUserInfo(t.Context(), sim.IssueCode(testAppID, nasty.OpenID, "snsapi_userinfo"))
				if err != nil {
					t.Fatalf("login %d: %v", i+1, err)
				}
				if info.Nickname != wantNick || info.HeadImgURL != "" || info.Sex != 0 {
					t.Errorf("login %d: profile %+v", i+1, *info)
				}
			}
			m, err := models.FindWechatUser(t.Context(), db, testAppID, nasty.OpenID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Nickname != wantNick || m.HeadImgURL != "" || m.Sex != 0 || m.UnionID != nasty.UnionID ||
				m.Province != "广东"+strings.Repeat("省", MaxPlaceRunes-2) || m.City != "深圳" || m.Country != "中国" {
				t.Errorf("stored row: nickname %q avatar %q sex %d province %q city %q country %q",
					m.Nickname, m.HeadImgURL, m.Sex, m.Province, m.City, m.Country)
			}
		})
	}
}

func TestProfileSaveLoginCleansCallersValues(t *testing.T) {
	for kind, open := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			db := open(t)
			s := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret, LoginType: "auths.x"}, db)
			tok := &AccessToken{AccessToken: "AT", RefreshToken: "RT", OpenID: "oCaller", Scope: "snsapi_userinfo", ExpiresIn: 7200}
			info := &UserInfo{OpenID: "oCaller", Nickname: "a\x00b\xff", HeadImgURL: "javascript:x"}
			if err := s.SaveLogin(t.Context(), db, tok, info, ""); err != nil {
				t.Fatal(err)
			}
			if info.Nickname != "a\x00b\xff" {
				t.Error("SaveLogin changed the caller's UserInfo")
			}
			m, err := models.FindWechatUser(t.Context(), db, testAppID, "oCaller")
			if err != nil || m.Nickname != "ab" || m.HeadImgURL != "" {
				t.Errorf("row %+v, %v", m, err)
			}
			bad := *tok
			bad.OpenID = strings.Repeat("o", 65)
			if err := s.SaveLogin(t.Context(), db, &bad, info, ""); err == nil {
				t.Error("SaveLogin stored an openid over 64 bytes")
			}
		})
	}
}

func TestUpstreamGarbageIDsRefused(t *testing.T) {
	long := "o" + strings.Repeat("x", MaxIDLen)
	cases := []struct {
		name string
		user wechatsim.User
	}{
		{"openid over 64", wechatsim.User{OpenID: long, Nickname: "x"}},
		{"openid not ASCII", wechatsim.User{OpenID: "o用户", Nickname: "x"}},
		{"openid with NUL", wechatsim.User{OpenID: "o\x00x", Nickname: "x"}},
		{"openid invalid UTF-8", wechatsim.User{OpenID: "o" + badUTF8, Nickname: "x"}},
		{"openid with space", wechatsim.User{OpenID: "o x", Nickname: "x"}},
		{"unionid over 64", wechatsim.User{OpenID: "oGood", UnionID: "u" + strings.Repeat("x", MaxIDLen), Nickname: "x"}},
	}
	for kind, open := range testDatabases() {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				db := open(t)
				sim := wechatsim.New(wechatsim.WithApp(testAppID, testSecret), wechatsim.WithUsers(tc.user))
				wx := httptest.NewServer(tamperWechat(sim))
				t.Cleanup(wx.Close)
				s := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret, APIBaseURLs: []string{wx.URL}}, db)
				_, err := s.GetUserInfo(t.Context(), sim.IssueCode(testAppID, tc.user.OpenID, "snsapi_userinfo"))
				var ue *UpstreamError
				if !errors.As(err, &ue) || !errors.Is(err, ErrMalformedResponse) || ue.Timeout() {
					t.Fatalf("err = %v (%T), want an UpstreamError matching ErrMalformedResponse", err, err)
				}
				if strings.Contains(err.Error(), "xxxxxxxx") || strings.Contains(err.Error(), "\x00") {
					t.Errorf("the error carries the value: %q", err)
				}
				var n int64
				if err := db.Model(&models.WechatPublicAuthModel{}).Count(&n).Error; err != nil || n != 0 {
					t.Errorf("%d rows stored (%v)", n, err)
				}
			})
		}
	}
}

func TestUpstreamTokenValuesBounded(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
		wantExp    int
	}{
		{"normal", `{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"o1","scope":"snsapi_userinfo"}`, true, 7200},
		{"comma scope with a space", `{"access_token":"AT","expires_in":7200,"openid":"o1","scope":"snsapi_base, snsapi_userinfo"}`, true, 7200},
		{"huge expires_in capped", `{"access_token":"AT","expires_in":9223372036854775807,"openid":"o1"}`, true, int(refreshTokenTTL / time.Second)},
		{"access token too long", `{"access_token":"` + strings.Repeat("A", maxTokenLen+1) + `","openid":"o1"}`, false, 0},
		{"access token with NUL", `{"access_token":"A\u0000T","openid":"o1"}`, false, 0},
		{"refresh token too long", `{"access_token":"AT","refresh_token":"` + strings.Repeat("R", maxTokenLen+1) + `","openid":"o1"}`, false, 0},
		{"scope too long", `{"access_token":"AT","openid":"o1","scope":"` + strings.Repeat("s", maxScopeLen+1) + `"}`, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret, APIBaseURLs: []string{"http://wechat.invalid"}}, nil,
				WithHTTPClient(&http.Client{Transport: stubTransport{200, []byte(tc.body)}}))
			tok, err := s.GetAccessToken(t.Context(), "CODE")
			if !tc.ok {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("err = %v, want ErrMalformedResponse", err)
				}
				return
			}
			if err != nil || tok.ExpiresIn != tc.wantExp {
				t.Fatalf("tok %+v, err %v; want expires_in %d", tok, err, tc.wantExp)
			}
		})
	}
}

func TestUpstreamSealedMaxTokenFitsColumn(t *testing.T) {
	c, err := models.NewTokenCipher(strings.Repeat("k", models.MinKeyLength))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal(strings.Repeat("A", maxTokenLen))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) > 512 {
		t.Errorf("a sealed %d-byte token is %d bytes, over the size 512 column", maxTokenLen, len(sealed))
	}
}

// The service uses its config as given (the login Type's config struct
// holds the defaults): base URLs lose only their trailing slashes, and a
// service with none fails every call instead of reaching a default.
func TestConfigIsUsedAsGiven(t *testing.T) {
	s := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret, APIBaseURLs: []string{"http://a.invalid/", "http://b.invalid"}}, nil)
	if c := s.Config(); !slices.Equal(c.APIBaseURLs, []string{"http://a.invalid", "http://b.invalid"}) || c.Scope != "" || c.Lang != "" {
		t.Errorf("config %+v", c)
	}
	var ue *UpstreamError
	none := NewWechatPublicAuthSvc(WechatConfig{AppID: testAppID, AppSecret: testSecret}, nil, WithRetry(1, time.Millisecond))
	if _, err := none.GetAccessToken(t.Context(), "code"); !errors.As(err, &ue) || !errors.Is(err, errNoAPIBase) {
		t.Errorf("no base URL: %v", err)
	}
}
