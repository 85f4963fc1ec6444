//go:build unix

package runtime

import (
	"fmt"
	"os"
	"syscall"
)

// folderID identifies a folder whatever path reaches it (device and
// inode), "" when the system does not say.
func folderID(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	return ""
}
