# The results chart: one group of bars per metric, the three tools' medians normalised to
# docker = 1 (the gateway's "gw" bars: one docker exec per connection = 1), on a log scale. bench/bench.lua calls it with
#   gnuplot -e "datafile='...'; outfile='...'; charttitle='...'" bench/chart.gp
set terminal pngcairo size 1400,640 font "sans,10"
set output outfile
set title charttitle
set datafile missing "NaN"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [0.001:*]
set ylabel "docker CLI = 1 (gw: one docker exec per connection = 1); lower is better"
set grid ytics
set key top left
set xtics nomirror font ",9"
set bmargin 5
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1 lc rgb "#444444"
plot datafile using 2:xtic(1) title "ours (dockerpty)" lc rgb "#1b9e77", \
     '' using 3 title "docker CLI" lc rgb "#7570b3", \
     '' using 4 title "Python dockerpty" lc rgb "#d95f02"
