(;FF[4]AP[alphago-py:0.1]CA[UTF-8]GM[1]KM[5]RU[Chinese]SZ[7];W[aa];B[cf];B[bd];
W[ag];B[da];B[fg];B[fa];B[cb];B[ab];B[cc];W[ea];B[dd];W[dg];W[gd];B[ff];B[ge];
B[df];B[fd])
