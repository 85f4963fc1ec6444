//go:build !unix

package runtime

import "os"

// folderID is "" where the system gives no folder identity: a folder
// reached by two paths then follows edits under one of them only.
func folderID(os.FileInfo) string { return "" }
