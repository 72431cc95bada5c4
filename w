(;FF[4]AP[alphago-py:0.1]CA[UTF-8]GM[1]KM[26]RU[Chinese]SZ[5];W[bb])
