package wechatsim

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type authorizeParams struct {
	AppID, RedirectURI, ResponseType, Scope, State string
}

// pageError is an authorize-page failure. WeChat shows these as an HTML
// page, not JSON; Code is 0 where WeChat shows only text.
type pageError struct {
	Code int
	Msg  string
}

func validState(st string) bool {
	if len(st) > 128 {
		return false
	}
	for _, c := range st {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// consentPage is one of the simulator's consent pages: the Official
// Account authorize page (网页授权, inside WeChat) or the website app's QR
// login page (网站应用 扫码登录, in a desktop browser). The real QR page shows
// a QR code the person scans with WeChat and confirms on the phone; the
// simulator lists its users to pick instead.
type consentPage struct {
	path string // route relative to the base path
	qr   bool
	// scopeError is WeChat's answer to a scope this page does not take.
	scopeError func(scope string) *pageError
}

var (
	authorizePage = consentPage{path: "/connect/oauth2/authorize", scopeError: func(scope string) *pageError {
		switch scope {
		case "":
			return &pageError{10010, "scope为空"}
		case "snsapi_base", "snsapi_userinfo":
			return nil
		}
		return &pageError{10005, "此公众号并没有这些scope的权限"}
	}}
	qrConnectPage = consentPage{path: "/connect/qrconnect", qr: true, scopeError: func(scope string) *pageError {
		if scope == "snsapi_login" {
			return nil
		}
		// What open.weixin.qq.com/connect/qrconnect shows for any other
		// scope (snsapi_userinfo is the usual mistake), with no errcode.
		return &pageError{0, "Scope参数错误或没有Scope权限"}
	}}
)

func (s *Server) validateAuthorize(v url.Values, pg consentPage) (authorizeParams, *pageError) {
	p := authorizeParams{
		AppID:        v.Get("appid"),
		RedirectURI:  v.Get("redirect_uri"),
		ResponseType: v.Get("response_type"),
		Scope:        v.Get("scope"),
		State:        v.Get("state"),
	}
	s.mu.Lock()
	_, known := s.apps[p.AppID]
	s.mu.Unlock()
	switch {
	case p.AppID == "":
		return p, &pageError{10012, "appid参数错误"}
	case !known:
		return p, &pageError{10016, "appid无效"}
	case p.RedirectURI == "":
		return p, &pageError{10011, "redirect_uri参数错误"}
	case pg.scopeError(p.Scope) != nil:
		return p, pg.scopeError(p.Scope)
	case p.State == "":
		return p, &pageError{10013, "state参数为空"}
	case !validState(p.State):
		return p, &pageError{0, "state参数过长"}
	case p.ResponseType != "code":
		return p, &pageError{0, "response_type参数错误"}
	}
	u, err := url.Parse(p.RedirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(p.RedirectURI, "#") {
		return p, &pageError{10003, "redirect_uri域名与后台配置不一致"}
	}
	return p, nil
}

// callbackURL appends code (when non-empty) and state to the redirect URI,
// with & when it already carries a query, as WeChat does.
func callbackURL(redirectURI, code, state string) string {
	q := url.Values{}
	if code != "" {
		q.Set("code", code)
	}
	q.Set("state", state)
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	// Encode sorts keys: code before state, matching WeChat's order.
	return redirectURI + sep + q.Encode()
}

// pageUser is a user button: OpenID (data-openid) is the canonical id the
// form submits; AppOpenID (data-app-openid, shown) is the openid the app
// being authorized will get.
type pageUser struct {
	User
	Avatar    string
	AppOpenID string
}

type pageData struct {
	Params authorizeParams
	Users  []pageUser
	Action string
	Silent bool
	QR     bool // the website app's QR login page
	Error  *pageError
}

// showPage serves GET of a consent page.
func (s *Server) showPage(pg consentPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, perr := s.validateAuthorize(r.URL.Query(), pg)
		if perr != nil {
			s.renderError(w, perr)
			return
		}
		s.renderPage(w, pg, p, nil)
	}
}

// submitPage serves POST of a consent page: the person picked a user (or
// typed a nickname), or refused.
func (s *Server) submitPage(pg consentPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.submit(w, r, pg) }
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, pg consentPage) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, &pageError{0, "请求格式错误"})
		return
	}
	p, perr := s.validateAuthorize(r.PostForm, pg)
	if perr != nil {
		s.renderError(w, perr)
		return
	}
	if r.PostForm.Get("action") == "deny" {
		http.Redirect(w, r, callbackURL(p.RedirectURI, "", p.State), http.StatusFound)
		return
	}
	openID := r.PostForm.Get("openid")
	if nick := strings.TrimSpace(r.PostForm.Get("nickname")); r.PostForm.Get("action") == "custom" && nick != "" {
		if len([]rune(nick)) > 32 {
			s.renderPage(w, pg, p, &pageError{0, "昵称过长（最多32个字）"})
			return
		}
		s.mu.Lock()
		openID = OpenIDForNickname(nick)
		if _, ok := s.userLocked(openID); !ok {
			s.addUserLocked(User{OpenID: openID, Nickname: nick, HeadImgURL: fmt.Sprintf("/avatar/%d.svg", avatarNumber(nick))})
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	_, ok := s.userLocked(openID)
	s.mu.Unlock()
	if !ok {
		s.renderPage(w, pg, p, &pageError{0, "请选择一个用户或输入昵称"})
		return
	}
	code := s.IssueCode(p.AppID, openID, p.Scope)
	s.log.DebugContext(r.Context(), "wechatsim consent", "appid", p.AppID, "openid", openID, "scope", p.Scope)
	http.Redirect(w, r, callbackURL(p.RedirectURI, code, p.State), http.StatusFound)
}

func (s *Server) renderPage(w http.ResponseWriter, pg consentPage, p authorizeParams, perr *pageError) {
	users := s.Users()
	data := pageData{Params: p, Action: s.mount + s.base + pg.path, Silent: p.Scope == "snsapi_base", QR: pg.qr, Error: perr}
	for _, u := range users {
		av := u.HeadImgURL
		if strings.HasPrefix(av, "/") {
			av = s.mount + s.base + av
		}
		data.Users = append(data.Users, pageUser{User: u, Avatar: av, AppOpenID: u.OpenIDIn(p.AppID)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if perr != nil {
		w.WriteHeader(http.StatusBadRequest)
	}
	if err := authorizeTmpl.Execute(w, data); err != nil {
		s.log.Error("wechatsim: render authorize page", "err", err)
	}
}

func (s *Server) renderError(w http.ResponseWriter, perr *pageError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// WeChat answers 200 with an error page; keep that so clients behave alike.
	if err := errorTmpl.Execute(w, perr); err != nil {
		s.log.Error("wechatsim: render error page", "err", err)
	}
}

func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	numStr, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	n, err := strconv.Atoi(numStr)
	if !ok || err != nil || n < 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	colour := avatarColours[n%len(avatarColours)]
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">`+
		`<rect width="132" height="132" fill="%s"/>`+
		`<circle cx="66" cy="52" r="24" fill="#fff" fill-opacity="0.9"/>`+
		`<ellipse cx="66" cy="118" rx="42" ry="30" fill="#fff" fill-opacity="0.9"/>`+
		`<text x="120" y="22" font-family="sans-serif" font-size="16" fill="#fff" text-anchor="end">%d</text>`+
		`</svg>`, colour, n)
}

var avatarColours = []string{"#07c160", "#1989fa", "#ff976a", "#ee0a24", "#7232dd", "#00b8a9", "#f6b93b", "#576b95"}

const pageHead = `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,maximum-scale=1">
<title>{{block "title" .}}微信授权（模拟器）{{end}}</title>
<style>
body{margin:0;font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#ededed;color:#191919}
.wrap{max-width:480px;margin:0 auto;padding:24px 16px}
h1{font-size:18px;text-align:center;margin:8px 0 4px}
.sub{color:#888;font-size:13px;text-align:center;margin-bottom:20px}
.card{background:#fff;border-radius:8px;padding:12px;margin-bottom:16px}
.user{display:flex;align-items:center;width:100%;border:0;background:#fff;padding:10px 4px;font-size:16px;border-bottom:1px solid #eee;cursor:pointer;text-align:left}
.user:last-child{border-bottom:0}
.user img{width:40px;height:40px;border-radius:4px;margin-right:12px}
.user small{display:block;color:#999;font-size:12px}
input[type=text]{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ddd;border-radius:4px;margin-bottom:10px}
.btn{display:block;width:100%;padding:12px;font-size:16px;border-radius:4px;border:0;margin-top:8px;cursor:pointer}
.ok{background:#07c160;color:#fff}.deny{background:#f2f2f2;color:#576b95}
.err{color:#fa5151;text-align:center;margin:8px 0}
</style></head><body><div class="wrap">`

var authorizeTmpl = template.Must(template.Must(template.New("authorize").Parse(pageHead + `
<h1 id="wx-title">{{if .QR}}微信扫码登录（模拟）{{else if .Silent}}静默授权（snsapi_base）{{else}}申请获取你的昵称、头像{{end}}</h1>
<div class="sub">{{if .QR}}网站应用扫码登录模拟器：真实页面是一张二维码，用手机微信扫码并确认；这里直接选择扫码的人{{else}}微信网页授权模拟器{{end}} · AppID <span id="wx-appid">{{.Params.AppID}}</span></div>
{{with .Error}}<p class="err" id="wx-error">{{.Msg}}</p>{{end}}
<form method="post" action="{{.Action}}" id="wx-form">
<input type="hidden" name="appid" value="{{.Params.AppID}}">
<input type="hidden" name="redirect_uri" value="{{.Params.RedirectURI}}">
<input type="hidden" name="response_type" value="{{.Params.ResponseType}}">
<input type="hidden" name="scope" value="{{.Params.Scope}}">
<input type="hidden" name="state" value="{{.Params.State}}">
<!-- Default button first, so Enter in the nickname box submits the nickname. -->
<button type="submit" name="action" value="custom" tabindex="-1" aria-hidden="true" style="position:absolute;left:-9999px">确定</button>
<div class="card" id="wx-users">
{{range $i, $u := .Users}}<button type="submit" class="user" name="openid" value="{{$u.OpenID}}" id="wx-user-{{$i}}" data-openid="{{$u.OpenID}}" data-app-openid="{{$u.AppOpenID}}"{{if $u.Snapshot}} data-snapshot="1"{{end}}>
<img src="{{$u.Avatar}}" alt=""><span>{{$u.Nickname}}<small>{{$u.AppOpenID}}{{if $u.UnionID}} · unionid{{end}}{{if $u.Snapshot}} · 快照用户{{end}}</small></span></button>
{{end}}</div>
<div class="card">
<input type="text" name="nickname" id="wx-nickname" maxlength="32" placeholder="输入昵称，以新用户身份登录" autocomplete="off">
<button type="submit" class="btn ok" name="action" value="custom" id="wx-custom">以此昵称允许</button>
</div>
<button type="submit" class="btn deny" name="action" value="deny" id="wx-deny" formnovalidate>拒绝</button>
</form>
</div></body></html>`)).Parse(`{{define "title"}}{{if .QR}}微信扫码登录（模拟）{{else}}微信授权（模拟器）{{end}}{{end}}`))

var errorTmpl = template.Must(template.New("error").Parse(pageHead + `
<div class="card" id="wx-error"{{if .Code}} data-errcode="{{.Code}}"{{end}}>
<h1>{{if .Code}}Oops! Something went wrong:({{else}}出错了{{end}}</h1>
<p class="err">{{if .Code}}错误码：{{.Code}}，{{end}}{{.Msg}}</p>
</div>
</div></body></html>`))
