package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

var elementName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

func scaffold(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "wechat-login" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, "Usage: jit new wechat-login NAME [--app DIR] [--appid wx...]")
			return nil
		}
		return errors.New(`usage: jit new wechat-login NAME [--app DIR] [--appid wx...] ("wechat-login" is the only template)`)
	}
	fs := newFlags("new", "new wechat-login NAME [--app DIR] [--appid wx...]", stderr)
	dir := fs.String("app", ".", "app folder")
	appID := fs.String("appid", "wx0000000000000000", "the Official Account's AppID")
	// Accept NAME before or after the flags.
	rest := args[1:]
	var name string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !elementName.MatchString(name) {
		return fmt.Errorf("NAME %q must start with a letter and hold only letters, digits and _", name)
	}
	folder := filepath.Join(*dir, "auths", "loginTypes", name)
	if _, err := os.Stat(folder); err == nil {
		return fmt.Errorf("%s already exists", folder)
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"e.json": `{
  "title": "微信公众号登录",
  "type": "auths.loginTypes.WechatPublicType"
}
`,
		name + ".json": fmt.Sprintf(`{
  "appId": %q,
  "appSecret": "{{WECHAT_APP_SECRET}}",
  "scope": "snsapi_userinfo"
}
`, *appID),
	}
	for file, body := range files {
		if err := os.WriteFile(filepath.Join(folder, file), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "created %s\n  e.json         type auths.loginTypes.WechatPublicType\n  %s  appId %s, appSecret from $WECHAT_APP_SECRET\n", folder, name+".json", *appID)
	fmt.Fprintf(stdout, "login URL: /auths/loginTypes/%s/login?redirectUrl=/\n", name)
	return nil
}
