{#- The shop's own `name` wins over the cart subchart's for shop templates. -#}
{% component name(@Chart) %}{{ Chart.Name }}-main{% endcomponent name %}

{% component shop.labels(@Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
{%- endcomponent shop.labels %}
