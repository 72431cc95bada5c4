(;FF[4]AP[alphago-py:0.1]CA[UTF-8]GM[1]KM[1.5]RU[Chinese]SZ[7];B[aa];W[fd];
B[ag];B[ba])
