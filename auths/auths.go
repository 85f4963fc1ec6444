// Package auths is the login family layer: the login and callback flow
// with duplicate handling, login states, users and identities, binding,
// sessions, cookies, the redirect guard and failure pages. Login Types
// (auths/wechatpublic, …) plug in through Provider and register
// themselves with RegisterType, the way database/sql drivers do.
//
// It also embeds the official element folders (auths.loginTypes.Meta and
// the built-in login Types), which every app gets as its last layer.
package auths

import (
	"embed"
	"io/fs"
)

//go:embed all:builtin
var builtinFS embed.FS

// Builtin returns the official element folders, laid out as an app folder.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFS, "builtin")
	if err != nil {
		panic(err) // the folder is compiled in; this cannot fail
	}
	return sub
}
