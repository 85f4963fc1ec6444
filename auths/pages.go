package auths

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// page makes a browser navigation (Accept: text/html) never end on raw
// JSON: a failure that knows the login's checked redirectUrl sends the
// browser back there with ?login_error=CODE; any other failure, and a
// refusal by the app's login hook (whose message must be seen), is a small
// page in Chinese with the same status. API clients keep JSON.
func (s *Server) page(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		if err == nil || !wantsHTML(c.Request()) || c.Response().Committed {
			return err
		}
		e := asError(err)
		if e == nil {
			s.logger.ErrorContext(c.Request().Context(), "request failed", "path", c.Request().URL.Path, "error", err)
			e = fail(http.StatusInternalServerError, "internal", "服务器出错了，请稍后再试。")
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		// The app's login hook wrote its message for the person: it is
		// shown on the page, with the way back, rather than lost in a
		// redirect that can carry only the code.
		if e.target != "" && e.Code != "login_refused" {
			return c.Redirect(http.StatusFound, withLoginError(e.target, e.Code))
		}
		data := failurePage{Status: e.Status, Code: e.Code, Message: e.Message, Back: e.target}
		if _, ok := s.provider(c.Param("name")); ok && e.Status < 500 && e.Code != "login_refused" {
			data.Retry = s.baseURL(c.Request()).JoinPath("auths", "loginTypes", c.Param("name"), "login").String()
		}
		var b strings.Builder
		if err := failureTemplate.Execute(&b, data); err != nil {
			return err
		}
		return c.HTML(e.Status, b.String())
	}
}

// withLoginError adds login_error=code to a checked return URL, keeping
// the rest of it as it is.
func withLoginError(target, code string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := "login_error=" + url.QueryEscape(code)
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	return u.String()
}

func queryEscape(s string) string { return url.QueryEscape(s) }

type failurePage struct {
	Status  int
	Code    string
	Message string
	Retry   string
	Back    string
}

var failureTemplate = template.Must(template.New("failure").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if eq .Code "login_refused"}}登录被拒绝{{else}}登录没有完成{{end}}</title>
<style>
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f5f6f7;color:#1f2329}
main{max-width:420px;margin:18vh auto 0;padding:32px 24px;background:#fff;border-radius:12px;text-align:center}
h1{font-size:20px;margin:0 0 12px}
p{font-size:16px;line-height:1.6;margin:0 0 24px}
a{display:inline-block;padding:10px 28px;border-radius:8px;background:#07c160;color:#fff;text-decoration:none;font-size:16px}
small{display:block;margin-top:20px;color:#8f959e;font-size:12px}
</style>
</head>
<body>
<main>
<h1>{{if eq .Code "login_refused"}}登录被拒绝{{else}}登录没有完成{{end}}</h1>
<p>{{.Message}}</p>
{{if .Retry}}<a href="{{.Retry}}">重新登录</a>{{end}}
{{if .Back}}<a href="{{.Back}}">返回</a>{{end}}
<small>{{.Status}} · {{.Code}}</small>
</main>
</body>
</html>
`))
