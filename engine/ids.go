package engine

// MaxIDLength is the longest id API.md allows.
const MaxIDLength = 128

// ValidID reports whether s is an id as API.md defines them: 1-128 letters,
// digits, '.', '_', '-' or '@'.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '@':
		default:
			return false
		}
	}
	return true
}
