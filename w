(;FF[4]AP[alphago-py:0.1]CA[UTF-8]GM[1]KM[-1]RU[Chinese]SZ[19];B[eo])
