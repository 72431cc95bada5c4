(;FF[4]AP[alphago-py:0.1]CA[UTF-8]GM[1]KM[-7.5]RU[Chinese]SZ[9];W[fb])
