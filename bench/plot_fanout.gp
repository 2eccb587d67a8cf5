# Plots of bench/fanout_bench.sh (gnuplot from Debian). Usage: gnuplot -e "data='FILE'; outdir='DIR'" bench/plot_fanout.gp
# FILE columns: N, full-speed deliveries/s (Backside fsync, Backside none, Redis, firebase-server), p99 ms at the
# fixed rate (same four), p99 ms at full speed (same four).
set terminal pngcairo size 800,500 font ",10"
set logscale x
set xlabel "subscribers of one path (N)"
set key left top
set grid
set xtics ("1" 1, "100" 100, "1,000" 1000, "10,000" 10000)
set xrange [0.7:15000]

set output outdir."/fanout-throughput.png"
set title "Fan-out at full speed: deliveries/s (median of the runs)"
set yrange [1000:3000000]
set key right bottom
set ylabel "deliveries/s"
set logscale y
plot data using 1:2 with linespoints lw 2 title "Backside, durability fsync", \
     data using 1:3 with linespoints lw 2 title "Backside, durability none", \
     data using 1:4 with linespoints lw 2 title "Redis pub/sub", \
     data using 1:5 with linespoints lw 2 title "firebase-server (npm)", \
     1000000 with lines dt 3 lc rgb "black" title "target at N = 10,000: 1,000,000/s"

set output outdir."/fanout-latency.png"
set title "Fan-out: p99 write-to-delivery latency (median of the runs)"
set ylabel "p99 latency (ms)"
set key left top
set autoscale y
set logscale y
plot data using 1:6 with linespoints lw 2 title "Backside fsync, fixed rate", \
     data using 1:7 with linespoints lw 2 title "Backside none, fixed rate", \
     data using 1:8 with linespoints lw 2 title "Redis, fixed rate", \
     data using 1:9 with linespoints lw 2 title "firebase-server, fixed rate", \
     data using 1:10 with linespoints lw 2 dt 2 title "Backside fsync, full speed", \
     data using 1:11 with linespoints lw 2 dt 2 title "Backside none, full speed", \
     data using 1:12 with linespoints lw 2 dt 2 title "Redis, full speed", \
     data using 1:13 with linespoints lw 2 dt 2 title "firebase-server, full speed", \
     50 with lines dt 3 lc rgb "black" title "target at N = 10,000: p99 50 ms"
