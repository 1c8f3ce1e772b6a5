package mcpjweauth

import "time"

// testNow is the fixed clock of the tests that stop it.
var testNow = time.Unix(1_750_000_000, 0)
