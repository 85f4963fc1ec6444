// Package auths holds the login types: the official built-in element
// folders (auths.loginTypes.Meta and auths.loginTypes.WechatPublicType,
// embedded), the Go behaviour of WechatPublicType, and the HTTP flow of a
// login (state, callback, sessions).
//
// Importing this package registers the WeChat login Type, the way a
// database/sql driver registers itself.
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
