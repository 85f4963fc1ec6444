package wechatsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

var errMessages = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40029: "invalid code",
	40030: "invalid refresh_token",
	40125: "invalid appsecret",
	40163: "code been used",
	41001: "access_token missing",
	41002: "appid missing",
	41003: "refresh_token missing",
	41004: "appsecret missing",
	41008: "missing code",
	41009: "missing openid",
	42001: "access_token expired",
	42002: "refresh_token expired",
	42003: "code expired",
	48001: "api unauthorized",
}

func errMsg(code int) string {
	if m, ok := errMessages[code]; ok {
		return m
	}
	return "unknown error"
}

type apiError struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// writeJSON mimics WeChat: text/plain content type and escaped slashes.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// "/" only occurs inside JSON strings, so a blind replace is safe.
	b = bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(b)
}

func (s *Server) writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, apiError{ErrCode: code, ErrMsg: msg + ", rid: " + s.rid()})
}

func (s *Server) fail(w http.ResponseWriter, code int) {
	s.writeErr(w, code, errMsg(code))
}

type tokenResponse struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

// openIDFor is the openid app appID sees for the user with canonical id
// userID; an unknown user (a grant crafted with IssueCode) keeps userID.
func (s *Server) openIDFor(userID, appID string) string {
	if u, ok := s.userLocked(userID); ok {
		return u.OpenIDIn(appID)
	}
	return userID
}

func hasScope(scopes, want string) bool {
	for sc := range strings.SplitSeq(scopes, ",") {
		if strings.TrimSpace(sc) == want {
			return true
		}
	}
	return false
}

// fullScope reports whether a grant of scopes may call /sns/userinfo and
// carries the unionid: snsapi_userinfo (Official Account) and snsapi_login
// (website app QR login) do, snsapi_base does not.
func fullScope(scopes string) bool {
	return hasScope(scopes, "snsapi_userinfo") || hasScope(scopes, "snsapi_login")
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("code")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case appID == "":
		s.fail(w, 41002)
		return
	case secret == "":
		s.fail(w, 41004)
		return
	case code == "":
		s.fail(w, 41008)
		return
	case q.Get("grant_type") != "authorization_code":
		s.fail(w, 40002)
		return
	}
	want, ok := s.apps[appID]
	if !ok {
		s.fail(w, 40013)
		return
	}
	if secret != want {
		s.fail(w, 40125)
		return
	}
	now := s.now()
	c, ok := s.codes[code]
	if !ok || c.appID != appID {
		s.fail(w, 40029)
		return
	}
	if c.used {
		s.fail(w, 40163)
		return
	}
	if now.Sub(c.issued) >= CodeTTL {
		s.fail(w, 42003)
		return
	}
	c.used = true
	u, _ := s.userLocked(c.userID)
	openID := s.openIDFor(c.userID, appID)
	resp := tokenResponse{
		AccessToken:  randomToken(48),
		ExpiresIn:    int(AccessTokenTTL / 1e9),
		RefreshToken: randomToken(48),
		OpenID:       openID,
		Scope:        c.scope,
	}
	if fullScope(c.scope) {
		resp.UnionID = u.UnionID
	}
	if u.Snapshot {
		resp.IsSnapshotUser = 1
	}
	s.tokens[resp.AccessToken] = &tokenGrant{appID: appID, userID: c.userID, openID: openID, scope: c.scope, expires: now.Add(AccessTokenTTL)}
	s.refresh[resp.RefreshToken] = &refreshGrant{appID: appID, userID: c.userID, openID: openID, scope: c.scope, authorized: now}
	writeJSON(w, resp)
}

func (s *Server) handleRefreshToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, rt := q.Get("appid"), q.Get("refresh_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case appID == "":
		s.fail(w, 41002)
		return
	case q.Get("grant_type") != "refresh_token":
		s.fail(w, 40002)
		return
	case rt == "":
		s.fail(w, 41003)
		return
	}
	if _, ok := s.apps[appID]; !ok {
		s.fail(w, 40013)
		return
	}
	g, ok := s.refresh[rt]
	if !ok || g.appID != appID {
		s.fail(w, 40030)
		return
	}
	now := s.now()
	if now.Sub(g.authorized) >= RefreshTokenTTL {
		s.fail(w, 42002)
		return
	}
	resp := tokenResponse{
		AccessToken:  randomToken(48),
		ExpiresIn:    int(AccessTokenTTL / 1e9),
		RefreshToken: rt, // WeChat keeps the refresh token; its 30 days run from authorization
		OpenID:       g.openID,
		Scope:        g.scope,
	}
	s.tokens[resp.AccessToken] = &tokenGrant{appID: appID, userID: g.userID, openID: g.openID, scope: g.scope, expires: now.Add(AccessTokenTTL)}
	writeJSON(w, resp)
}

// tokenLocked validates access_token and openid (the openid the token's app
// was given, not the canonical one), writing the error if any.
func (s *Server) tokenLocked(w http.ResponseWriter, r *http.Request) (*tokenGrant, bool) {
	q := r.URL.Query()
	at, openID := q.Get("access_token"), q.Get("openid")
	if at == "" {
		s.fail(w, 41001)
		return nil, false
	}
	if openID == "" {
		s.fail(w, 41009)
		return nil, false
	}
	t, ok := s.tokens[at]
	if !ok {
		s.fail(w, 40001)
		return nil, false
	}
	if !s.now().Before(t.expires) {
		s.fail(w, 42001)
		return nil, false
	}
	if t.openID != openID {
		s.fail(w, 40003)
		return nil, false
	}
	return t, true
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokenLocked(w, r); !ok {
		return
	}
	writeJSON(w, apiError{ErrCode: 0, ErrMsg: "ok"})
}

type userInfoResponse struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid,omitempty"`
}

// places localises the few place names test users are likely to carry.
var places = map[string][2]string{ // zh_CN → {zh_TW, en}
	"中国": {"中國", "China"},
	"广东": {"廣東", "Guangdong"},
	"深圳": {"深圳", "Shenzhen"},
	"广州": {"廣州", "Guangzhou"},
	"北京": {"北京", "Beijing"},
	"上海": {"上海", "Shanghai"},
}

func localise(v, lang string) string {
	p, ok := places[v]
	if !ok {
		return v
	}
	switch lang {
	case "zh_TW":
		return p[0]
	case "en":
		return p[1]
	}
	return v
}

func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokenLocked(w, r)
	if !ok {
		return
	}
	if !fullScope(t.scope) {
		s.fail(w, 48001)
		return
	}
	u, ok := s.userLocked(t.userID)
	if !ok {
		s.fail(w, 40003)
		return
	}
	lang := r.URL.Query().Get("lang")
	writeJSON(w, userInfoResponse{
		OpenID:     t.openID, // the openid this app was given
		Nickname:   u.Nickname,
		Sex:        u.Sex,
		Province:   localise(u.Province, lang),
		City:       localise(u.City, lang),
		Country:    localise(u.Country, lang),
		HeadImgURL: s.absoluteURL(r, u.HeadImgURL),
		Privilege:  []string{},
		UnionID:    u.UnionID,
	})
}

// absoluteURL resolves a base-relative avatar path against the request host.
func (s *Server) absoluteURL(r *http.Request, p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if fp := r.Header.Get("X-Forwarded-Proto"); fp == "http" || fp == "https" {
		scheme = fp
	}
	return scheme + "://" + r.Host + s.mount + s.base + p
}
